#pragma once

#include <warden/host.h>
#include <warden/records.h>

#include <QtCore/QList>
#include <QtCore/QObject>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

namespace WardenTest {

//! Collects the run records a host reports, in the test's thread.
class RunLog : public QObject
{
public:
    explicit RunLog(Warden::Host *host)
    {
        connect(host, &Warden::Host::runFinished, this,
                [this](const Warden::RunRecord &run) { runs.append(run); });
        connect(host, &Warden::Host::runAbandoned, this,
                [this](const Warden::RunRecord &run) { abandoned.append(run); });
    }
    QList<Warden::RunRecord> of(const QString &worker,
                                std::optional<Warden::RunOutcome> outcome = std::nullopt) const
    {
        QList<Warden::RunRecord> out;
        for (const auto &r : runs)
            if (r.worker == worker && (!outcome || r.outcome == *outcome))
                out.append(r);
        return out;
    }
    int count(const QString &worker, std::optional<Warden::RunOutcome> outcome = std::nullopt) const
    {
        return int(of(worker, outcome).size());
    }
    QList<Warden::RunRecord> runs;
    QList<Warden::RunRecord> abandoned;
};

//! Times taken inside doWork(), on the monotonic clock; thread-safe.
struct Timings
{
    using Clock = std::chrono::steady_clock;
    struct Run
    {
        Clock::time_point scheduled;
        Clock::time_point started;
        Clock::time_point finished;
        qint64 token = 0;
        QString node;
    };
    void add(const Run &run)
    {
        std::lock_guard<std::mutex> lock(mutex);
        runs.push_back(run);
    }
    std::vector<Run> snapshot() const
    {
        std::lock_guard<std::mutex> lock(mutex);
        return runs;
    }
    size_t size() const
    {
        std::lock_guard<std::mutex> lock(mutex);
        return runs.size();
    }
    mutable std::mutex mutex;
    std::vector<Run> runs;
};

//! Counts how many runs are inside a critical section at once, and the most ever seen.
struct Concurrency
{
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    void enter()
    {
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
    }
    void leave() { --inside; }
};

inline double millis(std::chrono::steady_clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

} // namespace WardenTest
