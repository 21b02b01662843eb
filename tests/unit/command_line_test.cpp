#include <gtest/gtest.h>

#include <stdexcept>

#include "config/command_line.hpp"
#include "config/config_file.hpp"
#include "net/endpoint.hpp"

namespace corral {
namespace {

CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "corral");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

TEST(CommandLine, DefaultsAreThoseDocumented) {
  const auto command_line = parse({});
  EXPECT_FALSE(command_line.worker);
  const auto& s = command_line.settings;
  EXPECT_EQ(s.listen, "127.0.0.1:3000");
  EXPECT_EQ(s.workers, 0u);
  EXPECT_EQ(s.drain_timeout, std::chrono::seconds(30));
  EXPECT_FALSE(s.enable_debug_routes);
  EXPECT_EQ(s.http.max_header_bytes, 8192u);
  EXPECT_EQ(s.http.max_body_bytes, 1048576u);
}

TEST(CommandLine, SecondsAcceptFractions) {
  const auto s = parse({"--drain-timeout", "2.5", "--request-timeout", "0.25"}).settings;
  EXPECT_EQ(s.drain_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(s.http.request_timeout, std::chrono::milliseconds(250));
}

TEST(CommandLine, BadValuesAreUsageErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--workers", "many"}, {"--workers", "5000"}, {"--drain-timeout", "-1"}, {"--log-level", "loud"},
           {"--no-such-flag"}}) {
    try {
      parse(args);
      ADD_FAILURE() << args[0] << " was accepted";
    } catch (const ExitRequest& request) {
      EXPECT_EQ(request.code, 2) << args[0];
    }
  }
}

TEST(CommandLine, WorkerArgumentsGiveTheSameSettingsBack) {
  Settings settings;
  settings.drain_timeout = std::chrono::milliseconds(1234);
  settings.enable_debug_routes = true;
  settings.http.max_header_bytes = 4096;
  settings.http.max_body_bytes = 77;
  settings.http.keepalive_timeout = std::chrono::milliseconds(300);
  settings.http.request_timeout = std::chrono::milliseconds(450);
  settings.http.send_timeout = std::chrono::milliseconds(9000);
  settings.log_level = spdlog::level::debug;
  const WorkerIdentity identity{2, 9, 4321, {3, 4}, 7, 8};

  const auto parsed = parse(worker_arguments(SettingTable{}, settings, identity));
  ASSERT_TRUE(parsed.worker);
  EXPECT_EQ(parsed.worker->slot, 2u);
  EXPECT_EQ(parsed.worker->generation, 9u);
  EXPECT_EQ(parsed.worker->supervisor_pid, 4321);
  EXPECT_EQ(parsed.worker->listen_fds, (std::vector<int>{3, 4}));
  EXPECT_EQ(parsed.worker->channel_fd, 7);
  EXPECT_EQ(parsed.worker->load_board_fd, 8);
  const auto& s = parsed.settings;
  EXPECT_EQ(s.drain_timeout, settings.drain_timeout);
  EXPECT_TRUE(s.enable_debug_routes);
  EXPECT_EQ(s.http.max_header_bytes, 4096u);
  EXPECT_EQ(s.http.max_body_bytes, 77u);
  EXPECT_EQ(s.http.keepalive_timeout, settings.http.keepalive_timeout);
  EXPECT_EQ(s.http.request_timeout, settings.http.request_timeout);
  EXPECT_EQ(s.http.send_timeout, settings.http.send_timeout);
  EXPECT_EQ(s.log_level, spdlog::level::debug);
}

TEST(CommandLine, ServiceSettingsHaveFlagsKeysAndReachTheWorker) {
  SettingTable table;
  SettingRow greeting;
  greeting.key = "app.greeting";
  greeting.flag = "--app-greeting";
  greeting.help = "what / answers";
  greeting.kind = SettingKind::text;
  greeting.default_value = std::string("hello");
  table.add_service_setting(greeting);
  SettingRow limit;
  limit.key = "app.limit";
  limit.flag = "--app-limit";
  limit.kind = SettingKind::whole;
  limit.min = 1;
  limit.max = 10;
  limit.default_value = std::int64_t{5};
  table.add_service_setting(limit);
  const ProgramDescription program{"hello", "a test", &table};

  EXPECT_EQ(parse_arguments({}, program).settings.service_values.at("app.greeting"), SettingValue(std::string("hello")));
  const auto flagged = parse_arguments({"--app-greeting", "hi", "--app-limit", "7"}, program).settings;
  EXPECT_EQ(flagged.service_values.at("app.greeting"), SettingValue(std::string("hi")));
  EXPECT_EQ(flagged.service_values.at("app.limit"), SettingValue(std::int64_t{7}));
  EXPECT_THROW(parse_arguments({"--app-limit", "11"}, program), ExitRequest);

  Settings from_file = table.defaults();
  apply_config_text(table, "[app]\ngreeting = \"moin\"\n", "hello.toml", from_file);
  EXPECT_EQ(from_file.service_values.at("app.greeting"), SettingValue(std::string("moin")));
  EXPECT_THROW(apply_config_text(table, "[app]\nlimit = 0\n", "hello.toml", from_file), ConfigError);

  const WorkerIdentity identity{0, 1, 2, {3}, 4, -1};
  const auto worker = parse_arguments(worker_arguments(table, flagged, identity), program);
  EXPECT_EQ(worker.settings.service_values, flagged.service_values);

  SettingRow taken = greeting;
  EXPECT_THROW(table.add_service_setting(taken), std::invalid_argument);
  taken.key = "listen";
  taken.flag = "--other";
  EXPECT_THROW(table.add_service_setting(taken), std::invalid_argument) << "corral's own key";
  taken.key = "app";
  EXPECT_THROW(table.add_service_setting(taken), std::invalid_argument) << "a table and a key at once";
}

TEST(Endpoint, ParsesIpv4Ipv6AndNames) {
  EXPECT_EQ(net::parse_endpoint("127.0.0.1:3000"), (net::Endpoint{"127.0.0.1", 3000}));
  EXPECT_EQ(net::parse_endpoint("[::1]:3000"), (net::Endpoint{"::1", 3000}));
  EXPECT_EQ(net::parse_endpoint("localhost:0"), (net::Endpoint{"localhost", 0}));
}

TEST(Endpoint, RejectsWithAReason) {
  const auto reason = [](std::string_view text) {
    try {
      net::parse_endpoint(text);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(reason("127.0.0.1").find("no port"), std::string::npos);
  EXPECT_NE(reason("::1:3000").find("brackets"), std::string::npos);
  EXPECT_NE(reason("[::1:3000").find("unclosed"), std::string::npos);
  EXPECT_NE(reason(":3000").find("no host"), std::string::npos);
  EXPECT_NE(reason("host:70000").find("0 to 65535"), std::string::npos);
  EXPECT_NE(reason("host:http").find("0 to 65535"), std::string::npos);
}

}  // namespace
}  // namespace corral

#include <cstdlib>
#include <fstream>
#include <regex>

#include "version.hpp"

namespace corral {
namespace {

// meson.build's version goes into the binary; debian/changelog's names the package.
// They must agree, or `corral --version` lies about the installed package.
TEST(Version, MatchesTheDebianChangelog) {
  const char* source_root = std::getenv("CORRAL_SOURCE_ROOT");
  ASSERT_NE(source_root, nullptr);
  std::ifstream changelog(std::string(source_root) + "/debian/changelog");
  std::string first_line;
  ASSERT_TRUE(std::getline(changelog, first_line));
  std::smatch match;
  ASSERT_TRUE(std::regex_search(first_line, match, std::regex(R"(^corral \(([^)]+)\))"))) << first_line;
  EXPECT_EQ(match[1].str(), version);
}

}  // namespace
}  // namespace corral
