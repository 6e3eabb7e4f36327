#include "tickscheduler_p.h"

#include "runexecutor_p.h"

#include <QtCore/QThreadStorage>

#include <algorithm>
#include <thread>

namespace Warden {

using namespace std::chrono;

void CompletionInbox::postAll(std::vector<std::function<void()>> &callbacks,
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
    for (const Watched &w : m_executors) {
        if (w.watching)
            w.executor->setWatching(false);
    }
    std::lock_guard<std::mutex> lock(m_inbox->m_mutex);
    m_inbox->m_target = nullptr;
    m_inbox->m_items.clear();
}

void TickScheduler::publishTimerDue()
{
    {
        std::lock_guard<std::mutex> lock(m_inbox->m_mutex);
        m_inbox->m_looksAt = m_timer.isActive() ? m_timerDue : Clock::time_point::max();
        m_inbox->wakeIfDueLocked();
    }
    // Waking up again soon: watch the executors' queues in their monitor's stead.
    const bool soon = m_timer.isActive() && m_timerDue - Clock::now() <= RunExecutor::kWatchHorizon;
    for (Watched &w : m_executors) {
        if (w.watching != soon) {
            w.watching = soon;
            w.executor->setWatching(soon);
        }
    }
}

void TickScheduler::drainInbox(bool fromEvent)
{
    // Two lists take turns, so that neither grows from nothing each time (a drain nested in
    // a callback's event loop finds the spare taken and starts a list of its own).
    std::vector<std::function<void()>> items;
    items.swap(m_spare);
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
    items.clear();
    if (m_spare.capacity() < items.capacity())
        m_spare.swap(items);
    if (fromEvent)
        rearm(); // also tells the inbox when the timer fires next
}

int TickScheduler::addSlot(std::function<void()> callback, RunExecutor *executor,
                           const void *object, size_t objectSize)
{
    if (executor) {
        auto it = std::find_if(m_executors.begin(), m_executors.end(),
                               [executor](const Watched &w) { return w.executor == executor; });
        if (it == m_executors.end())
            m_executors.push_back(Watched{executor, 1, false});
        else
            ++it->slotCount;
    }
    int index;
    if (!m_freeSlots.empty()) {
        index = m_freeSlots.back();
        m_freeSlots.pop_back();
    } else {
        index = int(m_slots.size());
        m_slots.emplace_back();
        m_current.push_back(0);
    }
    Slot &slot = m_slots[size_t(index)];
    slot.callback = std::move(callback);
    slot.executor = executor;
    slot.object = object;
    slot.objectSize = objectSize;
    slot.used = true;
    return index;
}

void TickScheduler::removeSlot(int index)
{
    disarmSlot(quint32(index));
    Slot &slot = m_slots[size_t(index)];
    // The callback stays until the slot is reused: it may be the one running now.
    slot.used = false;
    m_freeSlots.push_back(index);
    auto it = std::find_if(m_executors.begin(), m_executors.end(),
                           [&slot](const Watched &w) { return w.executor == slot.executor; });
    slot.executor = nullptr;
    if (it != m_executors.end() && --it->slotCount == 0) {
        if (it->watching)
            it->executor->setWatching(false);
        m_executors.erase(it);
    }
}

void TickScheduler::disarmSlot(quint32 index)
{
    if (m_current[index] == 0)
        return;
    m_current[index] = 0;
    const Slot &slot = m_slots[index];
    --m_armed;
    const auto count = std::lower_bound(m_tolerances.begin(), m_tolerances.end(),
                                        std::make_pair(slot.tolerance, 0));
    if (count != m_tolerances.end() && count->first == slot.tolerance && --count->second == 0)
        m_tolerances.erase(count);
}

void TickScheduler::arm(int index, Clock::time_point deadline, microseconds tolerance)
{
    disarmSlot(quint32(index));
    Slot &slot = m_slots[size_t(index)];
    if (++slot.generation == 0) // 0 means "not armed"
        slot.generation = 1;
    m_current[size_t(index)] = slot.generation;
    slot.tolerance = tolerance.count();
    ++m_armed;
    auto count = std::lower_bound(m_tolerances.begin(), m_tolerances.end(),
                                  std::make_pair(slot.tolerance, 0));
    if (count == m_tolerances.end() || count->first != slot.tolerance)
        count = m_tolerances.insert(count, std::make_pair(slot.tolerance, 0));
    ++count->second;
    // Entries left by re-armed or cancelled slots are dropped when they come up; should they
    // pile up (deadlines far ahead, re-armed often), sweep them out.
    if (m_inOrder.size() + m_heap.size() > size_t(2 * m_armed + 1024)) {
        const auto stale = [this](const Entry &e) { return !isCurrent(e); };
        m_inOrder.erase(std::remove_if(m_inOrder.begin(), m_inOrder.end(), stale), m_inOrder.end());
        m_heap.erase(std::remove_if(m_heap.begin(), m_heap.end(), stale), m_heap.end());
        std::make_heap(m_heap.begin(), m_heap.end());
    }
    push(Entry{deadline.time_since_epoch().count(), quint32(index), slot.generation});
    // Inside onTimeout() or drainInbox(), the timer is set once at the end.
    if (m_busy == 0 && deadline + tolerance < m_timerDue)
        rearm();
}

void TickScheduler::cancel(int index)
{
    // The heap entry stays until it comes up; the slot no longer matches it.
    disarmSlot(quint32(index));
}

void TickScheduler::push(const Entry &entry)
{
    if (m_inOrder.empty() || !isEarlier(entry, m_inOrder.back())) {
        m_inOrder.push_back(entry);
        return;
    }
    m_heap.push_back(entry);
    std::push_heap(m_heap.begin(), m_heap.end());
}

void TickScheduler::popTop()
{
    if (!m_inOrder.empty() && &top() == &m_inOrder.front()) {
        m_inOrder.pop_front();
        return;
    }
    std::pop_heap(m_heap.begin(), m_heap.end());
    m_heap.pop_back();
}

void TickScheduler::prefetchNext() const
{
#if defined(__GNUC__) || defined(__clang__)
    // A host's workers fire one after another, each touching memory no other has touched
    // for a second; fetching it ahead overlaps those cache misses with the work of the one
    // before. Two steps: the slot two ahead, the object of the one next (its slot fetched
    // on the step before).
    if (m_inOrder.size() > 1)
        __builtin_prefetch(&m_slots[m_inOrder[1].slot]);
    if (!m_inOrder.empty()) {
        const Slot &next = m_slots[m_inOrder.front().slot];
        const char *object = static_cast<const char *>(next.object);
        for (size_t offset = 0; offset < next.objectSize; offset += 64)
            __builtin_prefetch(object + offset);
    }
#endif
}

void TickScheduler::dropStale()
{
    while (!isEmpty() && !isCurrent(top()))
        popTop();
}

void TickScheduler::rearm()
{
    dropStale();
    if (isEmpty()) {
        m_timer.stop();
        m_timerDue = Clock::time_point::max();
    } else {
        // Wake as late as the tolerances allow: ticks due close together then share the
        // wake-up. Qt's timer counts whole milliseconds; rounded down, it fires at most a
        // millisecond before the wake time, never after it.
        const Clock::time_point wake =
            Clock::time_point(Clock::duration(top().at)) +
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
    for (const Watched &w : m_executors)
        w.executor->watch();
    // Results of runs that ended since the last wake-up: they re-arm their workers.
    drainInbox(false);
    dropStale();
    if (!isEmpty()) {
        // Nothing due yet (the timer fired up to a millisecond early): sleep until just before
        // the earliest deadline, precisely, rather than by the millisecond. That one deadline
        // is fired kLead ahead; its runner sleeps to the deadline (see kLead). Others fire
        // when due.
        const Clock::time_point earliest = Clock::time_point(Clock::duration(top().at));
        const auto ahead = earliest - kLead - Clock::now();
        if (ahead <= kPreciseWindow) { // otherwise woken early: a deadline was cancelled
            if (ahead.count() > 0)
                std::this_thread::sleep_until(earliest - kLead);
            Clock::rep now = std::max(Clock::now(), earliest).time_since_epoch().count();
            RunExecutor::BatchScope batch; // the runs of this burst go over together
            for (int fired = 0; fired < 256; ++fired) {
                dropStale();
                if (isEmpty())
                    break;
                if (top().at > now) {
                    // Come due while this burst was handed out: it joins the burst rather
                    // than wake the thread again at once.
                    now = std::max(now, Clock::now().time_since_epoch().count());
                    if (top().at > now)
                        break;
                }
                const quint32 index = top().slot;
                popTop();
                prefetchNext();
                disarmSlot(index);
                m_slots[index].callback();
            }
        }
    }
    --m_busy;
    rearm();
}
} // namespace Warden
