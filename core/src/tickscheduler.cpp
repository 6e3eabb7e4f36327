#include "tickscheduler_p.h"

#include "runexecutor_p.h"

#include <QtCore/QThreadStorage>

#include <thread>

namespace Warden {

using namespace std::chrono;

void CompletionInbox::postAll(std::vector<std::function<void()>> callbacks)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_target || callbacks.empty())
        return;
    const bool wasEmpty = m_items.empty();
    for (auto &callback : callbacks)
        m_items.push_back(std::move(callback));
    if (wasEmpty) {
        TickScheduler *target = m_target;
        QMetaObject::invokeMethod(target, [target] { target->drainInbox(); });
    }
}

TickScheduler *TickScheduler::forCurrentThread()
{
    // Deleted when the thread finishes, after its deferred deletes (the workers) have run.
    static QThreadStorage<TickScheduler *> storage;
    if (!storage.hasLocalData())
        storage.setLocalData(new TickScheduler);
    return storage.localData();
}

TickScheduler::TickScheduler()
    : m_inbox(std::make_shared<CompletionInbox>())
{
    m_inbox->m_target = this;
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &TickScheduler::onTimeout);
}

TickScheduler::~TickScheduler()
{
    std::lock_guard<std::mutex> lock(m_inbox->m_mutex);
    m_inbox->m_target = nullptr;
    m_inbox->m_items.clear();
}

void TickScheduler::drainInbox()
{
    std::vector<std::function<void()>> items;
    {
        std::lock_guard<std::mutex> lock(m_inbox->m_mutex);
        items.swap(m_inbox->m_items);
    }
    RunExecutor::BatchScope batch; // runs started from here go over together
    for (auto &item : items)
        item();
}

void TickScheduler::arm(Key key, Clock::time_point deadline, microseconds tolerance,
                        std::function<void()> callback)
{
    auto existing = m_current.find(key);
    if (existing != m_current.end())
        forget(existing);
    const quint64 generation = m_nextGeneration++;
    m_current.insert(key, Armed{generation, tolerance, std::move(callback)});
    ++m_tolerances[tolerance.count()];
    m_byDeadline.push(Entry{deadline, generation, key});
    if (deadline + tolerance < m_timerDue)
        rearm();
}

void TickScheduler::forget(QHash<Key, Armed>::iterator it)
{
    auto count = m_tolerances.find(it->tolerance.count());
    if (count != m_tolerances.end() && --*count == 0)
        m_tolerances.erase(count);
    m_current.erase(it);
}

void TickScheduler::cancel(Key key)
{
    // The heap entry stays until it comes up; its generation no longer matches.
    auto it = m_current.find(key);
    if (it != m_current.end())
        forget(it);
}

bool TickScheduler::isCurrent(const Entry &entry) const
{
    const auto it = m_current.constFind(entry.key);
    return it != m_current.cend() && it->generation == entry.generation;
}

void TickScheduler::dropStale(Heap &heap)
{
    while (!heap.empty() && !isCurrent(heap.top()))
        heap.pop();
}

void TickScheduler::rearm()
{
    dropStale(m_byDeadline);
    if (m_byDeadline.empty()) {
        m_timer.stop();
        m_timerDue = Clock::time_point::max();
        return;
    }
    // Wake as late as the tolerances allow: ticks due close together then share the wake-up.
    // Qt's timer counts whole milliseconds; rounded down, it fires at most a millisecond before
    // the wake time, never after it.
    const Clock::time_point wake =
        m_byDeadline.top().at + microseconds(m_tolerances.isEmpty() ? 0 : m_tolerances.firstKey());
    if (m_timer.isActive() && wake == m_timerDue)
        return;
    const auto left = wake - Clock::now();
    const auto wait = left.count() <= 0 ? milliseconds(0) : duration_cast<milliseconds>(left);
    m_timerDue = wake;
    m_timer.start(int(std::min<qint64>(wait.count(), 24 * 3600 * 1000)));
}

void TickScheduler::onTimeout()
{
    m_timerDue = Clock::time_point::max();
    dropStale(m_byDeadline);
    if (m_byDeadline.empty())
        return;
    // Nothing due yet (the timer fired up to a millisecond early): sleep until just before
    // the earliest deadline, precisely, rather than by the millisecond. That one deadline is
    // fired kLead ahead; its runner sleeps to the deadline (see kLead). Others fire when due.
    const Clock::time_point earliest = m_byDeadline.top().at;
    const auto ahead = earliest - kLead - Clock::now();
    if (ahead > kPreciseWindow) {
        rearm(); // woken early: a deadline was cancelled
        return;
    }
    if (ahead.count() > 0)
        std::this_thread::sleep_until(earliest - kLead);
    const Clock::time_point now = std::max(Clock::now(), earliest);
    RunExecutor::BatchScope batch; // the runs of this burst go over together
    for (int fired = 0; fired < 256;) {
        dropStale(m_byDeadline);
        if (m_byDeadline.empty() || m_byDeadline.top().at > now)
            break;
        const Key key = m_byDeadline.top().key;
        m_byDeadline.pop();
        auto it = m_current.find(key);
        std::function<void()> callback = std::move(it->callback);
        forget(it);
        callback();
        ++fired;
    }
    rearm();
}
} // namespace Warden
