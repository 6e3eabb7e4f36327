#include <warden/stoptoken.h>

#include <QtCore/QtGlobal>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace Warden {

struct StopState
{
    std::atomic<bool> stopped{false};
    std::atomic<int> reason{static_cast<int>(StopReason::None)};
    std::mutex mutex;
    std::condition_variable condition;
    std::map<int, std::function<void()>> callbacks;
    int nextId = 1;
    // The callback being run by requestStop(), so removeCallback() can wait for it.
    int runningId = 0;
    std::thread::id runningThread;
    std::condition_variable callbackDone;
};

StopToken::StopToken() = default;

StopToken::StopToken(std::shared_ptr<StopState> state)
    : m_state(std::move(state))
{}

bool StopToken::isStopRequested() const
{
    return m_state && m_state->stopped.load(std::memory_order_acquire);
}

StopReason StopToken::stopReason() const
{
    return m_state ? static_cast<StopReason>(m_state->reason.load(std::memory_order_acquire))
                   : StopReason::None;
}

bool StopToken::waitFor(std::chrono::nanoseconds duration) const
{
    return waitUntil(std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration));
}

bool StopToken::waitUntil(std::chrono::steady_clock::time_point deadline) const
{
    if (!m_state) {
        std::this_thread::sleep_until(deadline);
        return false;
    }
    std::unique_lock<std::mutex> lock(m_state->mutex);
    m_state->condition.wait_until(lock, deadline, [this] { return m_state->stopped.load(); });
    return m_state->stopped.load();
}

int StopToken::onStop(std::function<void()> callback) const
{
    if (!m_state)
        return 0;
    {
        std::lock_guard<std::mutex> lock(m_state->mutex);
        if (!m_state->stopped.load()) {
            const int id = m_state->nextId++;
            m_state->callbacks.emplace(id, std::move(callback));
            return id;
        }
    }
    callback();
    return 0;
}

void StopToken::removeCallback(int id) const
{
    if (!m_state || id == 0)
        return;
    std::unique_lock<std::mutex> lock(m_state->mutex);
    m_state->callbacks.erase(id);
    if (m_state->runningId == id && m_state->runningThread != std::this_thread::get_id())
        m_state->callbackDone.wait(lock, [&] { return m_state->runningId != id; });
}

StopSource::StopSource()
    : m_state(std::make_shared<StopState>())
{}

StopToken StopSource::token() const
{
    return StopToken(m_state);
}

bool StopSource::isStopRequested() const
{
    return m_state->stopped.load();
}

bool StopSource::requestStop(StopReason reason) const
{
    std::unique_lock<std::mutex> lock(m_state->mutex);
    if (m_state->stopped.load())
        return false;
    m_state->reason.store(static_cast<int>(reason));
    m_state->stopped.store(true, std::memory_order_release);
    m_state->condition.notify_all();
    // Run the callbacks one by one without holding the lock; removeCallback() may wait.
    while (!m_state->callbacks.empty()) {
        auto it = m_state->callbacks.begin();
        const int id = it->first;
        std::function<void()> callback = std::move(it->second);
        m_state->callbacks.erase(it);
        m_state->runningId = id;
        m_state->runningThread = std::this_thread::get_id();
        lock.unlock();
        try {
            callback();
        } catch (...) {
            qWarning("Warden::StopSource: a stop callback threw; ignored");
        }
        lock.lock();
        m_state->runningId = 0;
        m_state->callbackDone.notify_all();
    }
    return true;
}

} // namespace Warden
