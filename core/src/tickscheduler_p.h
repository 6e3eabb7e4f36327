#pragma once

#include <QtCore/QObject>
#include <QtCore/QTimer>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace Warden {

class RunExecutor;
class TickScheduler;

/*!
    \internal
    Where runs that ended hand their results back to their worker's thread: a mutex-guarded
    list. Each result says by when the thread must have it (its worker's next deadline, or a
    few milliseconds after the run ended). The thread looks at the list whenever its timer
    fires; an event wakes it only when a result is due before that, so on a busy thread the
    results of the runs that ended meanwhile cost no wake-up of their own. Outlives its
    scheduler safely (a run abandoned at shutdown may end after the thread is gone; its result
    is then dropped).
*/
class CompletionInbox
{
public:
    using Clock = std::chrono::steady_clock;
    //! Moves \a callbacks to the thread, which calls them no later than \a latest.
    void postAll(std::vector<std::function<void()>> &callbacks, Clock::time_point latest);

private:
    friend class TickScheduler;
    //! Wakes the thread if a result is due before it looks by itself; call with the lock.
    void wakeIfDueLocked();

    std::mutex m_mutex;
    std::vector<std::function<void()>> m_items;
    Clock::time_point m_latest = Clock::time_point::max(); // earliest `latest` of m_items
    // When the thread's timer fires next (it then takes the items): a past time while the
    // thread is busy (it looks again before it sleeps), max() when no timer is armed.
    Clock::time_point m_looksAt = Clock::time_point::max();
    bool m_posted = false; // a drain event is on its way
    TickScheduler *m_target = nullptr;
};

/*!
    \internal
    The timers of one scheduler thread: a heap of deadlines behind a single precise QTimer.

    Qt 6.4 wakes a thread once per due QTimer, and each wake-up hands a run to another
    thread; with ten thousand workers a second that is most of a core in context switches.
    Here every deadline comes with a tolerance (how late it may start, at most): the thread
    wakes at the earliest deadline plus the smallest tolerance armed, and then fires every
    deadline that is due, so ticks that fall close together share one wake-up and each still
    starts within its tolerance. Qt's timers count whole milliseconds, so the QTimer is
    armed for the whole milliseconds that are left and the rest is slept precisely.

    Each user (a worker) holds a slot: an index into a table of callbacks, so that arming and
    firing a deadline look nothing up by key. A re-armed or cancelled slot leaves its old heap
    entry behind, recognised by its generation and dropped when it comes up.

    Lives in, and is used only from, its own thread (one per thread: forCurrentThread()),
    except inbox(), which any thread may post to.
*/
class TickScheduler final : public QObject
{
    Q_OBJECT
public:
    using Clock = std::chrono::steady_clock;

    static TickScheduler *forCurrentThread();
    ~TickScheduler() override;

    /*!
        A slot that calls \a callback each time a deadline armed on it comes. Its runs go to
        \a executor (if any), which this thread then watches while it wakes up often (see
        RunExecutor::watch()); the executor must outlive the slot. The callback works on the
        \a objectSize bytes at \a object: when deadlines of many slots fire together, the next
        one's are fetched into the cache while one fires.
    */
    int addSlot(std::function<void()> callback, RunExecutor *executor, const void *object,
                size_t objectSize);
    //! Cancels and frees \a slot.
    void removeSlot(int slot);
    //! Calls the slot's callback once at \a deadline (at most \a tolerance later), replacing
    //! what the slot had armed.
    void arm(int slot, Clock::time_point deadline, std::chrono::microseconds tolerance);
    void cancel(int slot);

    const std::shared_ptr<CompletionInbox> &inbox() const { return m_inbox; }

    //! A deadline this close when the timer fires is slept for precisely.
    static constexpr std::chrono::microseconds kPreciseWindow{2000};
    /*!
        When the thread sleeps for a deadline, it fires it this much ahead; the callback
        hands the run to a runner with the deadline (RunExecutor::submitAt()), which sleeps to
        it, so waking the runner does not add to the start's lateness.
    */
    static constexpr std::chrono::microseconds kLead{300};

private:
    TickScheduler();
    void onTimeout();
    void rearm();
    void drainInbox(bool fromEvent);
    //! Tells the inbox when the timer fires next; see CompletionInbox.
    void publishTimerDue();
    friend class CompletionInbox;

    struct Entry
    {
        Clock::rep at; // the deadline, on Clock
        quint32 slot;
        quint32 generation;
        // A min-heap through std::push_heap/pop_heap: "less" is "later".
        bool operator<(const Entry &other) const
        {
            return at != other.at ? at > other.at : slot > other.slot;
        }
    };
    struct Slot
    {
        std::function<void()> callback;
        RunExecutor *executor = nullptr;
        const void *object = nullptr;
        size_t objectSize = 0;
        quint32 generation = 0; // of the last entry armed
        bool used = false;
        qint64 tolerance = 0; // microseconds, while armed
    };
    bool isCurrent(const Entry &entry) const { return m_current[entry.slot] == entry.generation; }
    static bool isEarlier(const Entry &a, const Entry &b) { return b < a; }
    bool isEmpty() const { return m_inOrder.empty() && m_heap.empty(); }
    //! The earliest entry; not empty.
    const Entry &top() const
    {
        if (m_heap.empty() || (!m_inOrder.empty() && !isEarlier(m_heap.front(), m_inOrder.front())))
            return m_inOrder.front();
        return m_heap.front();
    }
    void push(const Entry &entry);
    void disarmSlot(quint32 index);
    //! Starts fetching what firing the entries after the top one will touch.
    void prefetchNext() const;
    void dropStale();
    void popTop();

    /*
        The deadlines: those armed in order (no earlier than the last one in m_inOrder) are
        appended there, the others go to a heap; the earliest is at the front of one of them.
        Workers of one period are re-armed in the order they fired, so with them arming and
        firing a deadline cost a push and a pop at the ends of a deque, whatever their number.
    */
    std::deque<Entry> m_inOrder;
    std::vector<Entry> m_heap; // a heap, earliest on top
    std::deque<Slot> m_slots;  // a deque: a callback running stays put when slots are added
    // Per slot, the generation of its armed entry, 0 when none: compact, so that telling
    // current entries from stale ones touches little memory.
    std::vector<quint32> m_current;
    std::vector<int> m_freeSlots;
    int m_armed = 0;
    int m_busy = 0; // inside onTimeout() or drainInbox(): the inbox is looked at before sleeping
    // How many armed deadlines have each tolerance (µs), by tolerance: waking at the earliest
    // deadline plus the smallest tolerance armed keeps every deadline within its own
    // tolerance. Few distinct values, so a sorted vector.
    std::vector<std::pair<qint64, int>> m_tolerances;
    QTimer m_timer;
    Clock::time_point m_timerDue = Clock::time_point::max();
    std::shared_ptr<CompletionInbox> m_inbox;
    std::vector<std::function<void()>> m_spare; // swapped with the inbox's list, for its capacity
    struct Watched
    {
        RunExecutor *executor;
        int slotCount; // slots whose runs go there
        bool watching; // told so (RunExecutor::setWatching())
    };
    std::vector<Watched> m_executors;
};

} // namespace Warden
