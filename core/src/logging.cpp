#include "logging_p.h"

#include <warden/logging.h>

namespace Warden {

Q_LOGGING_CATEGORY(lcHostCategory, "warden.host", QtInfoMsg)
Q_LOGGING_CATEGORY(lcWorkerCategory, "warden.worker", QtInfoMsg)
Q_LOGGING_CATEGORY(lcLeaseCategory, "warden.lease", QtInfoMsg)
Q_LOGGING_CATEGORY(lcStoreCategory, "warden.store", QtInfoMsg)

const QLoggingCategory &lcHost()
{
    return lcHostCategory();
}
const QLoggingCategory &lcWorker()
{
    return lcWorkerCategory();
}
const QLoggingCategory &lcLease()
{
    return lcLeaseCategory();
}
const QLoggingCategory &lcStore()
{
    return lcStoreCategory();
}

void writeMessage(const QLoggingCategory &category, QtMsgType level, const QString &who,
                  const QString &message)
{
    const QByteArray name = who.toUtf8();
    const QByteArray text = message.toUtf8();
    switch (level) {
    case QtDebugMsg:
        qCDebug(category, "[%s] %s", name.constData(), text.constData());
        break;
    case QtInfoMsg:
        qCInfo(category, "[%s] %s", name.constData(), text.constData());
        break;
    case QtWarningMsg:
        qCWarning(category, "[%s] %s", name.constData(), text.constData());
        break;
    case QtCriticalMsg:
    case QtFatalMsg:
        qCCritical(category, "[%s] %s", name.constData(), text.constData());
        break;
    }
}

} // namespace Warden
