// hello: a service of your own on corral. Build it against libcorral-dev with
//   meson setup build && meson compile -C build
// or one line:
//   g++ -std=c++20 -O2 hello.cpp $(pkg-config --cflags --libs corral) -o hello
// and run it: ./hello --listen 127.0.0.1:8080   (or through hello.socket, see README)
#include <functional>
#include <string>

#include <corral/corral.hpp>

int main(int argc, char** argv) {
  corral::Service service("hello");
  // A setting of the service's own: --hello-greeting TEXT, or [hello] greeting = "..." in
  // the file given to --config.
  const auto greeting = service.text_setting("hello.greeting", "the first word of every answer", "Hello");

  service.get("/", [greeting](const corral::Request&, corral::Response& response) {
    response.text(200, *greeting + ", world\n");
  });

  // A path parameter, percent-decoded.
  service.get("/users/{name}", [greeting](const corral::Request& request, corral::Response& response) {
    response.text(200, *greeting + ", " + std::string(*request.param("name")) + "\n");
  });

  // A form body: curl -d 'name=Ada' localhost:8080/login. A 4xx is a ClientError.
  service.post("/login", [](const corral::Request& request, corral::Response& response) {
    const auto name = request.form("name");
    if (!name || name->empty()) throw corral::ClientError(400, "send a form field name=...");
    // HttpOnly, SameSite=Lax and Path=/ by default.
    corral::Cookie cookie("name", std::to_string(std::hash<std::string>{}(*name) % 1000000));
    cookie.max_age = std::chrono::hours(24);
    response.set_cookie(cookie).text(200, "logged in as " + *name + "\n");
  });

  // A cookie sent back.
  service.get("/whoami", [](const corral::Request& request, corral::Response& response) {
    const auto id = request.cookie("name");
    if (!id) throw corral::ClientError(401, "log in first: POST /login");
    response.json(200, "{\"id\":\"" + std::string(*id) + "\"}");
  });

  // An answer that comes later, from a timer: the worker serves others meanwhile.
  service.get("/slow", [](const corral::Request& request, corral::Response& response) {
    request.loop().after(std::chrono::milliseconds(200), [responder = response.defer()] {
      corral::Response answer;
      answer.text(200, "sorry for the wait\n");
      responder.send(answer);
    });
  });

  return service.run(argc, argv);
}
