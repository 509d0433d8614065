// A C++17 program using lifesign through include/lifesign.hpp, the
// header-only wrapper: RAII and moves, chrono durations, reports, waits and
// exceptions. Exit status 0 means every step behaved.
#include <lifesign.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

static_assert(!std::is_copy_constructible_v<lifesign::emitter>, "an emitter is move-only");
static_assert(std::is_nothrow_move_constructible_v<lifesign::emitter>, "moving an emitter cannot throw");
static_assert(std::is_base_of_v<std::runtime_error, lifesign::error>, "errors are std::runtime_error");

void require(bool ok, const std::string &what)
{
    if (!ok) throw std::runtime_error(what);
}

std::string describe(const lifesign::report &r)
{
    return std::string(lifesign::to_string(r.verdict)) + " " +
           (r.state ? lifesign::to_string(*r.state) : "(no state)") + " (" + r.detail + ")";
}

// Only an hour-long freeze reads as stale.
const lifesign::check_options kLive{1h, static_cast<std::int64_t>(getpid()), 0ms};

struct TempDir {
    std::string path;
    TempDir()
    {
        const char *tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                              "/lifesign-consumer-hpp-XXXXXX";
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back('\0');
        if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = buf.data();
    }
    ~TempDir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
};

void emitter_lifetime(const std::string &path)
{
    {
        lifesign::emitter first(path, lifesign::options{100ms});
        require(static_cast<bool>(first), "a started emitter is true");
        lifesign::report r = lifesign::check(path, kLive);
        require(r.alive() && r.state == lifesign::state::starting, "after start: " + describe(r));
        require(r.interval == 100ms, "interval " + std::to_string(r.interval.count()) + " ms");

        lifesign::emitter hb = std::move(first);  // the file keeps beating through the move
        require(!first, "a moved-from emitter is false");
        try {
            first.beat();
            require(false, "beat on a moved-from emitter did not throw");
        } catch (const lifesign::error &e) {
            require(e.code() == LIFESIGN_ERR_STATE, std::string("moved-from: ") + e.name());
        }

        hb.set_state(lifesign::state::ready, "serving");
        hb.progress();
        hb.beat();
        r = lifesign::check(path, kLive);
        require(r.ready() && r.message == "serving" && r.progress == 1 && r.progress_at.has_value(),
                "after set_state(ready): " + describe(r));
        require(lifesign::is_alive(path, 1h), "is_alive");

        try {
            hb.set_state(lifesign::state::stopped);
            require(false, "set_state(stopped) did not throw");
        } catch (const lifesign::error &e) {
            require(e.code() == LIFESIGN_ERR_INVALID_ARGUMENT, std::string("set_state(stopped): ") + e.name());
        }
    }  // the destructor closes: "stopped"
    lifesign::report r = lifesign::check(path);
    require(r.verdict == lifesign::verdict::stopped && r.state == lifesign::state::stopped,
            "after the emitter's scope: " + describe(r));
}

void waits(const std::string &dir)
{
    const std::string path = dir + "/wait.json";
    lifesign::emitter hb(path, lifesign::options{1h});
    std::thread ready([&hb] { hb.set_state(lifesign::state::ready); });
    lifesign::report r = lifesign::wait_ready(path, {static_cast<std::int64_t>(getpid()), 0ms, 10min, nullptr});
    ready.join();
    require(r.ready(), "wait_ready: " + describe(r));

    const std::string slow = dir + "/slow.json";
    lifesign::emitter starting(slow, lifesign::options{1h});
    try {
        (void)lifesign::wait_ready(slow, {0, 0ms, 50ms, nullptr});
        require(false, "wait_ready did not time out");
    } catch (const lifesign::timeout_error &e) {
        require(e.code() == LIFESIGN_ERR_TIMEOUT && e.last().state == lifesign::state::starting,
                std::string("timeout: ") + e.what());
    }

    lifesign::cancel_token token;
    token.cancel();
    try {
        (void)lifesign::wait_ready(slow, {0, 0ms, 0ms, &token});
        require(false, "a cancelled wait returned");
    } catch (const lifesign::cancelled_error &e) {
        require(e.code() == LIFESIGN_ERR_CANCELLED && e.last().alive(), std::string("cancelled: ") + e.what());
    }
    starting.close();
    starting.close();  // idempotent
    require(lifesign::check(slow).verdict == lifesign::verdict::stopped, "close writes stopped");
}

void errors(const std::string &dir)
{
    const std::string blocker = dir + "/not-a-folder";
    std::ofstream(blocker) << "in the way";
    try {
        lifesign::emitter hb(blocker + "/hb.json");
        require(false, "start under a regular file did not throw");
    } catch (const lifesign::error &e) {
        require(e.code() == LIFESIGN_ERR_IO && std::string(e.what()).find(blocker) != std::string::npos,
                std::string("start under a file: ") + e.what());
    }
    try {
        (void)lifesign::check(dir + "/x.json", {-1ms, 0, 0ms});
        require(false, "a negative max age did not throw");
    } catch (const lifesign::error &e) {
        require(e.code() == LIFESIGN_ERR_INVALID_ARGUMENT, std::string("negative max age: ") + e.what());
    }
    require(lifesign::check(dir + "/none.json").verdict == lifesign::verdict::missing, "missing file");
}

}  // namespace

int main()
{
    try {
        TempDir dir;
        emitter_lifetime(dir.path + "/heartbeat.json");
        waits(dir.path);
        errors(dir.path);
        std::printf("consumer (C++17, lifesign.hpp): lifesign %s: emitter, check, waits, errors\n",
                    lifesign::version().c_str());
        return 0;
    } catch (const std::exception &err) {
        std::fprintf(stderr, "FAIL: %s\n", err.what());
        return 1;
    }
}
