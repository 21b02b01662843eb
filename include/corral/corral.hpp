#pragma once

// corral's public API: a service on systemd-native prefork workers.
// Reference and tutorial: docs/library.md (/usr/share/doc/libcorral-dev/library.md).
#include "corral/log.hpp"
#include "corral/loop.hpp"
#include "corral/request.hpp"
#include "corral/response.hpp"
#include "corral/service.hpp"
#include "corral/store.hpp"
