#pragma once

#include <QtCore/QHash>
#include <QtCore/QMap>
#include <QtCore/QObject>
#include <QtCore/QTimer>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <vector>

namespace Warden {

class TickScheduler;

/*!
    \internal
    Where runs that ended hand their results back to their worker's thread: a mutex-guarded
    list that posts one event to the thread when it goes from empty to not empty, so runs
    that end together cost one wake-up of the thread. Outlives its scheduler safely (a run
    abandoned at shutdown may end after the thread is gone; its result is then dropped).
*/
class CompletionInbox
{
public:
    void postAll(std::vector<std::function<void()>> callbacks);

private:
    friend class TickScheduler;
    std::mutex m_mutex;
    std::vector<std::function<void()>> m_items;
    TickScheduler *m_target = nullptr;
};

/*!
    \internal
    The timers of one scheduler thread: heaps of deadlines behind a single precise QTimer.

    Qt 6.4 wakes a thread once per due QTimer, and each wake-up hands a run to another
    thread; with ten thousand workers a second that is most of a core in context switches.
    Here every deadline comes with a tolerance (how late it may start, at most): the thread
    wakes at the earliest deadline plus the smallest tolerance armed, and then fires every
    deadline that is due, so ticks that fall close together share one wake-up and each still
    starts within its tolerance. Qt's timers count whole milliseconds, so the QTimer is
    armed for the whole milliseconds that are left and the rest is slept precisely.

    Lives in, and is used only from, its own thread (one per thread: forCurrentThread()),
    except inbox(), which any thread may post to.
*/
class TickScheduler final : public QObject
{
    Q_OBJECT
public:
    using Clock = std::chrono::steady_clock;
    using Key = const void *;

    static TickScheduler *forCurrentThread();
    ~TickScheduler() override;

    //! Calls \a callback once at \a deadline (at most \a tolerance later), replacing what
    //! \a key had armed.
    void arm(Key key, Clock::time_point deadline, std::chrono::microseconds tolerance,
             std::function<void()> callback);
    void cancel(Key key);

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
    void drainInbox();
    friend class CompletionInbox;

    struct Entry
    {
        Clock::time_point at;
        quint64 generation;
        Key key;
        bool operator>(const Entry &other) const
        {
            return at != other.at ? at > other.at : generation > other.generation;
        }
    };
    struct Armed
    {
        quint64 generation;
        std::chrono::microseconds tolerance;
        std::function<void()> callback;
    };
    void forget(QHash<Key, Armed>::iterator it);
    using Heap = std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>>;
    bool isCurrent(const Entry &entry) const;
    void dropStale(Heap &heap);

    Heap m_byDeadline;
    QHash<Key, Armed> m_current;
    // How many armed deadlines have each tolerance: waking at the earliest deadline plus the
    // smallest tolerance armed keeps every deadline within its own tolerance.
    QMap<qint64, int> m_tolerances;
    quint64 m_nextGeneration = 1;
    QTimer m_timer;
    Clock::time_point m_timerDue = Clock::time_point::max();
    std::shared_ptr<CompletionInbox> m_inbox;
};

} // namespace Warden
