#pragma once

#include <warden/runcontext.h>
#include <warden/stoptoken.h>
#include <warden/worker.h>

#include <chrono>
#include <functional>

namespace Warden {

class ContinuousWorkerPrivate;

/*!
    A worker that runs execute() until it is asked to stop: the long-running service kind
    (drain a queue, hold a connection, watch a folder).

    execute() runs in a thread of its own. It must return soon after stop is requested
    (check the token, or sleep with StopToken::waitFor()). If it returns while no stop was
    requested, or throws, the failure is logged and recorded and execute() is called again
    after a back-off that doubles from the initial to the maximum delay; the back-off starts
    over after a run that lasted longer than the maximum delay.

    Each call of execute() is one run in the history; one that ends on a stop request is
    recorded as cancelled.
*/
class WARDEN_CORE_EXPORT ContinuousWorker : public Worker
{
    Q_OBJECT
public:
    explicit ContinuousWorker(const QString &name, QObject *parent = nullptr);
    ~ContinuousWorker() override;

    static ContinuousWorker *create(const QString &name, std::function<void(RunContext &)> execute);

    void setRestartBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds maximum);
    std::chrono::milliseconds initialBackoff() const;
    std::chrono::milliseconds maximumBackoff() const;

protected:
    //! Runs until \a stop is requested. Called in a thread of its own.
    virtual void execute(StopToken stop) = 0;
    //! The context of the current execute() call: run id, fencing token, logger.
    RunContext &context();

private:
    friend class ContinuousWorkerPrivate;
    ContinuousWorkerPrivate *d_func();
    const ContinuousWorkerPrivate *d_func() const;
};

} // namespace Warden
