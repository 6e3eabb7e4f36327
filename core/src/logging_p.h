#pragma once

#include <QtCore/QLoggingCategory>
#include <QtCore/QString>

namespace Warden {

//! \internal Writes "[who] message" to \a category at \a level (Qt's message handler).
void writeMessage(const QLoggingCategory &category, QtMsgType level, const QString &who,
                  const QString &message);

} // namespace Warden
