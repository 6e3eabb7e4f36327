#pragma once

#include <warden/global.h>

#include <chrono>
#include <functional>
#include <memory>

namespace Warden {

class StopSource;
struct StopState;

/*!
    The cooperative stop signal a run receives. Cheap to copy; every copy refers to the
    same state. Long-running work checks isStopRequested() between steps, sleeps with
    waitFor() (which returns early on stop), or registers a callback with onStop() to
    interrupt a blocking call (close a socket, cancel a query).

    All members are thread-safe.
*/
class WARDEN_CORE_EXPORT StopToken
{
public:
    //! A token that is never stopped.
    StopToken();

    bool isStopRequested() const;
    //! Why the stop was requested; StopReason::None while it has not been.
    StopReason stopReason() const;

    /*!
        Sleeps for \a duration or until stop is requested, whichever comes first.
        Returns true when stop was requested.
    */
    bool waitFor(std::chrono::nanoseconds duration) const;
    //! Sleeps until \a deadline (steady clock) or stop; returns true when stop was requested.
    bool waitUntil(std::chrono::steady_clock::time_point deadline) const;

    /*!
        Calls \a callback once when stop is requested, in the thread that requests it (or at
        once, in this thread, when stop was already requested). Returns an id for
        removeCallback(). The callback must be quick and must not throw.
    */
    int onStop(std::function<void()> callback) const;
    //! Removes a callback; when it is running in another thread, waits for it to return.
    void removeCallback(int id) const;

private:
    friend class StopSource;
    explicit StopToken(std::shared_ptr<StopState> state);
    std::shared_ptr<StopState> m_state;
};

//! The side that requests the stop. Copies share state, like StopToken.
class WARDEN_CORE_EXPORT StopSource
{
public:
    StopSource();

    StopToken token() const;
    /*!
        Requests the stop with \a reason. Only the first request counts; returns true when
        this call was the one that requested it.
    */
    bool requestStop(StopReason reason = StopReason::Shutdown) const;
    bool isStopRequested() const;

private:
    std::shared_ptr<StopState> m_state;
};

} // namespace Warden
