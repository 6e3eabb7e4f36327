#include <warden/records.h>

namespace Warden {

qint64 RunRecord::durationMs() const
{
    return startedAt.isValid() && finishedAt.isValid() ? startedAt.msecsTo(finishedAt) : -1;
}

qint64 RunRecord::latenessMs() const
{
    return scheduledAt.isValid() && startedAt.isValid() ? scheduledAt.msecsTo(startedAt) : -1;
}

} // namespace Warden
