#include "tickscheduler_p.h"

#include "runexecutor_p.h"

#include <QtCore/QThreadStorage>

#include <algorithm>
#include <thread>

namespace Warden {

using namespace std::chrono;

void CompletionInbox::postAll(std::vector<std::function<void()>> callbacks,
                              Clock::time_point latest)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_target || callbacks.empty())
        return;
    for (auto &callback : callbacks)
        m_items.push_back(std::move(callback));
    m_latest = std::min(m_latest, latest);
    wakeIfDueLocked();
}

void CompletionInbox::wakeIfDueLocked()
{
    if (m_posted || m_items.empty() || !m_target || m_latest >= m_looksAt)
        return;
    m_posted = true;
    TickScheduler *target = m_target;
    // Queued even from the thread itself (publishTimerDue()): the lock is held here.
    QMetaObject::invokeMethod(
        target, [target] { target->drainInbox(true); }, Qt::QueuedConnection);
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

void TickScheduler::publishTimerDue()
{
    std::lock_guard<std::mutex> lock(m_inbox->m_mutex);
    m_inbox->m_looksAt = m_timer.isActive() ? m_timerDue : Clock::time_point::max();
    m_inbox->wakeIfDueLocked();
}

void TickScheduler::drainInbox(bool fromEvent)
{
    std::vector<std::function<void()>> items;
    {
        std::lock_guard<std::mutex> lock(m_inbox->m_mutex);
        if (fromEvent)
            m_inbox->m_posted = false;
        items.swap(m_inbox->m_items);
        m_inbox->m_latest = Clock::time_point::max();
        // Busy: results that come in now are taken before the thread sleeps again.
        m_inbox->m_looksAt = Clock::time_point::min();
    }
    {
        RunExecutor::BatchScope batch; // runs started from here go over together
        ++m_busy;
        for (auto &item : items)
            item();
        --m_busy;
    }
    if (fromEvent)
        rearm(); // also tells the inbox when the timer fires next
}

int TickScheduler::addSlot(std::function<void()> callback)
{
    int index;
    if (!m_freeSlots.empty()) {
        index = m_freeSlots.back();
        m_freeSlots.pop_back();
    } else {
        index = int(m_slots.size());
        m_slots.emplace_back();
    }
    Slot &slot = m_slots[size_t(index)];
    slot.callback = std::move(callback);
    slot.used = true;
    return index;
}

void TickScheduler::removeSlot(int index)
{
    Slot &slot = m_slots[size_t(index)];
    disarmSlot(slot);
    // The callback stays until the slot is reused: it may be the one running now.
    slot.used = false;
    m_freeSlots.push_back(index);
}

void TickScheduler::disarmSlot(Slot &slot)
{
    if (!slot.armed)
        return;
    slot.armed = false;
    --m_armed;
    const auto count = std::lower_bound(m_tolerances.begin(), m_tolerances.end(),
                                        std::make_pair(slot.tolerance, 0));
    if (count != m_tolerances.end() && count->first == slot.tolerance && --count->second == 0)
        m_tolerances.erase(count);
}

void TickScheduler::arm(int index, Clock::time_point deadline, microseconds tolerance)
{
    Slot &slot = m_slots[size_t(index)];
    disarmSlot(slot);
    slot.armed = true;
    ++slot.generation;
    slot.tolerance = tolerance.count();
    ++m_armed;
    auto count = std::lower_bound(m_tolerances.begin(), m_tolerances.end(),
                                  std::make_pair(slot.tolerance, 0));
    if (count == m_tolerances.end() || count->first != slot.tolerance)
        count = m_tolerances.insert(count, std::make_pair(slot.tolerance, 0));
    ++count->second;
    // Entries left by re-armed or cancelled slots are dropped when they come up; should they
    // pile up (deadlines far ahead, re-armed often), sweep them out.
    if (m_heap.size() > size_t(2 * m_armed + 1024)) {
        m_heap.erase(std::remove_if(m_heap.begin(), m_heap.end(),
                                    [this](const Entry &e) { return !isCurrent(e); }),
                     m_heap.end());
        std::make_heap(m_heap.begin(), m_heap.end());
    }
    m_heap.push_back(Entry{deadline.time_since_epoch().count(), quint32(index), slot.generation});
    std::push_heap(m_heap.begin(), m_heap.end());
    // Inside onTimeout() or drainInbox(), the timer is set once at the end.
    if (m_busy == 0 && deadline + tolerance < m_timerDue)
        rearm();
}

void TickScheduler::cancel(int index)
{
    // The heap entry stays until it comes up; the slot no longer matches it.
    disarmSlot(m_slots[size_t(index)]);
}

void TickScheduler::popTop()
{
    std::pop_heap(m_heap.begin(), m_heap.end());
    m_heap.pop_back();
}

void TickScheduler::dropStale()
{
    while (!m_heap.empty() && !isCurrent(m_heap.front()))
        popTop();
}

void TickScheduler::rearm()
{
    dropStale();
    if (m_heap.empty()) {
        m_timer.stop();
        m_timerDue = Clock::time_point::max();
    } else {
        // Wake as late as the tolerances allow: ticks due close together then share the
        // wake-up. Qt's timer counts whole milliseconds; rounded down, it fires at most a
        // millisecond before the wake time, never after it.
        const Clock::time_point wake =
            Clock::time_point(Clock::duration(m_heap.front().at)) +
            microseconds(m_tolerances.empty() ? 0 : m_tolerances.front().first);
        if (!m_timer.isActive() || wake != m_timerDue) {
            const auto left = wake - Clock::now();
            const auto wait =
                left.count() <= 0 ? milliseconds(0) : duration_cast<milliseconds>(left);
            m_timerDue = wake;
            m_timer.start(int(std::min<qint64>(wait.count(), 24 * 3600 * 1000)));
        }
    }
    if (m_busy == 0)
        publishTimerDue();
}

void TickScheduler::onTimeout()
{
    m_timerDue = Clock::time_point::max();
    ++m_busy;
    // Results of runs that ended since the last wake-up: they re-arm their workers.
    drainInbox(false);
    dropStale();
    if (!m_heap.empty()) {
        // Nothing due yet (the timer fired up to a millisecond early): sleep until just before
        // the earliest deadline, precisely, rather than by the millisecond. That one deadline
        // is fired kLead ahead; its runner sleeps to the deadline (see kLead). Others fire
        // when due.
        const Clock::time_point earliest = Clock::time_point(Clock::duration(m_heap.front().at));
        const auto ahead = earliest - kLead - Clock::now();
        if (ahead <= kPreciseWindow) { // otherwise woken early: a deadline was cancelled
            if (ahead.count() > 0)
                std::this_thread::sleep_until(earliest - kLead);
            const Clock::rep now = std::max(Clock::now(), earliest).time_since_epoch().count();
            RunExecutor::BatchScope batch; // the runs of this burst go over together
            for (int fired = 0; fired < 256; ++fired) {
                dropStale();
                if (m_heap.empty() || m_heap.front().at > now)
                    break;
                const quint32 index = m_heap.front().slot;
                popTop();
                Slot &slot = m_slots[index];
                disarmSlot(slot);
                slot.callback();
            }
        }
    }
    --m_busy;
    rearm();
}
} // namespace Warden
