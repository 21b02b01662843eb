-- wrk: POST with an empty form body (the counter scenario).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = ""
