#include <warden/sql/sqlconnections.h>

#include "connection_p.h"

#include <QtCore/QHash>

#include <mutex>

namespace Warden {

namespace {
std::mutex configsMutex;
QHash<QString, std::shared_ptr<SqlConfig>> &configs()
{
    static QHash<QString, std::shared_ptr<SqlConfig>> instance;
    return instance;
}
} // namespace

QSqlDatabase SqlConnections::forCurrentThread(const QString &url, QString *error)
{
    std::shared_ptr<SqlConfig> config;
    {
        std::lock_guard<std::mutex> lock(configsMutex);
        config = configs().value(url);
        if (!config) {
            auto made = SqlConfig::make(url, DatabaseOptions());
            if (!made) {
                if (error)
                    *error = made.errorString();
                return QSqlDatabase();
            }
            config = made.value();
            configs().insert(url, config);
        }
    }
    QString message;
    SqlSession *session = SqlSession::current(*config, &message);
    if (!session) {
        if (error)
            *error = message;
        return QSqlDatabase();
    }
    return session->database();
}

void SqlConnections::releaseForCurrentThread(const QString &url)
{
    std::shared_ptr<SqlConfig> config;
    {
        std::lock_guard<std::mutex> lock(configsMutex);
        config = configs().value(url);
    }
    if (config)
        SqlSession::drop(*config);
}

} // namespace Warden
