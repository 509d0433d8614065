// A C++ program using liblifesign through its C header, with the handle owned
// by a std::unique_ptr: start, alive, ready, stop, stopped. Exit status 0
// means every step behaved.
#include <lifesign.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr std::uint64_t kMaxAgeMs = 3600000;  // only an hour-long freeze reads as stale

struct EmitterDeleter {
    void operator()(lifesign_emitter *e) const noexcept { lifesign_free(e); }
};
using Emitter = std::unique_ptr<lifesign_emitter, EmitterDeleter>;

void require_ok(const char *what, std::int32_t rc)
{
    if (rc != LIFESIGN_OK) {
        const char *detail = lifesign_last_error();
        throw std::runtime_error(std::string(what) + " returned " + lifesign_error_name(rc) + ": " +
                                 (detail != nullptr ? detail : "(no message)"));
    }
}

void require_report(const std::string &when, const std::string &path, std::int32_t verdict,
                    std::int32_t state)
{
    lifesign_report report{};
    lifesign_report_init(&report);
    require_ok("lifesign_check",
               lifesign_check(path.c_str(), kMaxAgeMs, static_cast<std::int64_t>(getpid()), &report));
    if (report.verdict != verdict || report.state != state) {
        throw std::runtime_error(when + ": verdict " + lifesign_verdict_name(report.verdict) +
                                 " state " + lifesign_state_name(report.state) + ", expected " +
                                 lifesign_verdict_name(verdict) + " " + lifesign_state_name(state));
    }
    if (report.pid != static_cast<std::int64_t>(getpid())) {
        throw std::runtime_error(when + ": the file names pid " + std::to_string(report.pid));
    }
}

struct TempDir {
    std::string path;
    TempDir()
    {
        const char *tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                              "/lifesign-consumer-XXXXXX";
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back('\0');
        if (mkdtemp(buf.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path = buf.data();
    }
    ~TempDir() { rmdir(path.c_str()); }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
};

}  // namespace

int main()
{
    try {
        TempDir dir;
        const std::string path = dir.path + "/heartbeat.json";
        {
            lifesign_emitter *raw = nullptr;
            require_ok("lifesign_start", lifesign_start(path.c_str(), 100, &raw));
            Emitter emitter(raw);
            require_report("after start", path, LIFESIGN_VERDICT_ALIVE, LIFESIGN_STATE_STARTING);

            require_ok("lifesign_set_state",
                       lifesign_set_state(emitter.get(), LIFESIGN_STATE_READY, "serving"));
            require_report("after set_state(ready)", path, LIFESIGN_VERDICT_ALIVE,
                           LIFESIGN_STATE_READY);

            require_ok("lifesign_stop", lifesign_stop(emitter.get()));
            require_report("after stop", path, LIFESIGN_VERDICT_STOPPED, LIFESIGN_STATE_STOPPED);
            if (lifesign_beat(emitter.get()) != LIFESIGN_ERR_STATE) {
                throw std::runtime_error("lifesign_beat after stop did not return LIFESIGN_ERR_STATE");
            }
        }
        std::remove(path.c_str());
        std::printf("consumer (C++): lifesign %s started, alive, stopped\n", lifesign_version());
        return 0;
    } catch (const std::exception &err) {
        std::fprintf(stderr, "FAIL: %s\n", err.what());
        return 1;
    }
}
