#include "leasekeeper_p.h"
#include "logging_p.h"

#include <warden/logging.h>
#include <warden/runcontext.h>

namespace Warden {

LogStream::LogStream(const RunContext &context, QtMsgType level)
    : m_context(context)
    , m_level(level)
    , m_debug(&m_text)
{
    m_debug.noquote();
}

LogStream::~LogStream()
{
    m_context.log(m_level, m_text.trimmed());
}

RunContext::RunContext(Data data, StopToken stopToken)
    : m_data(std::move(data))
    , m_stopToken(std::move(stopToken))
{}

RunContext::~RunContext() = default;

std::chrono::steady_clock::time_point RunContext::leaseValidUntil() const
{
    return m_data.lease ? m_data.lease->validUntil() : std::chrono::steady_clock::time_point::max();
}

std::chrono::steady_clock::time_point RunContext::leaseFenceAt() const
{
    return m_data.lease ? m_data.lease->fenceAt() : std::chrono::steady_clock::time_point::max();
}

void RunContext::fail(const QString &error)
{
    m_failed = true;
    m_error = error.isEmpty() ? QStringLiteral("failed") : error;
}

void RunContext::log(QtMsgType level, const QString &message) const
{
    if (m_sink) {
        m_sink(*this, level, message);
        return;
    }
    writeMessage(lcWorker(), level, m_data.workerName, message);
}

} // namespace Warden
