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
