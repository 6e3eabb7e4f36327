#include "icons.h"

#include <QtCore/QHash>

namespace Warden::Console {

QIcon Icons::icon(const QString &name)
{
    // GUI thread only (QIcon is a GUI type); the cache keeps one QIcon per name.
    static QHash<QString, QIcon> cache;
    auto it = cache.constFind(name);
    if (it != cache.constEnd())
        return *it;
    QIcon icon(QStringLiteral(":/icons/%1.svg").arg(name));
    cache.insert(name, icon);
    return icon;
}

QIcon Icons::application()
{
    return icon(QStringLiteral("warden-console"));
}

} // namespace Warden::Console
