#pragma once

#include <QtCore/QString>
#include <QtGui/QIcon>

namespace Warden::Console {

//! The console's icons (SVG in the "console" resource), cached by name.
class Icons final
{
public:
    //! The icon named \a name ("state-running", "outcome-failed", "lock-held", ...).
    static QIcon icon(const QString &name);
    static QIcon application();

private:
    Icons() = delete;
};

} // namespace Warden::Console
