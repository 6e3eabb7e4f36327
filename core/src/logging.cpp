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

} // namespace Warden
