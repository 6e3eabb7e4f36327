#include <warden/sql/databaseurl.h>

#include <QtCore/QRegularExpression>
#include <QtCore/QUrl>
#include <QtCore/QUrlQuery>

namespace Warden {

namespace {

using R = Result<DatabaseUrl>;

bool parseMilliseconds(const QString &text, int *out)
{
    bool ok = false;
    const int value = text.toInt(&ok);
    if (!ok || value < 0)
        return false;
    *out = value;
    return true;
}

const QStringList &postgresParameters()
{
    static const QStringList names = {QStringLiteral("connect_timeout"),
                                      QStringLiteral("sslmode"),
                                      QStringLiteral("sslrootcert"),
                                      QStringLiteral("sslcert"),
                                      QStringLiteral("sslkey"),
                                      QStringLiteral("application_name"),
                                      QStringLiteral("target_session_attrs"),
                                      QStringLiteral("passfile"),
                                      QStringLiteral("statement_timeout"),
                                      QStringLiteral("schema")};
    return names;
}

} // namespace

Result<DatabaseUrl> DatabaseUrl::parse(const QString &text)
{
    DatabaseUrl url;
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty())
        return R::failure(QStringLiteral("the database URL is empty"));

    if (trimmed.startsWith(QLatin1String("sqlite:"), Qt::CaseInsensitive)) {
        url.m_backend = Backend::SQLite;
        QString rest = trimmed.mid(int(qstrlen("sqlite:")));
        QString query;
        const qsizetype q = rest.indexOf(QLatin1Char('?'));
        if (q >= 0) {
            query = rest.mid(q + 1);
            rest.truncate(q);
        }
        if (rest.startsWith(QLatin1String("///")))
            rest = rest.mid(2); // sqlite:///abs -> /abs
        else if (rest.startsWith(QLatin1String("//./")) || rest.startsWith(QLatin1String("//../")))
            rest = rest.mid(2); // sqlite://./rel -> ./rel
        else if (rest.startsWith(QLatin1String("//")))
            return R::failure(
                QStringLiteral(
                    "SQLite URL \"%1\": a host is not allowed; use sqlite:///absolute/path, "
                    "sqlite://./relative/path or sqlite:relative/path")
                    .arg(trimmed));
        rest = QUrl::fromPercentEncoding(rest.toUtf8());
        if (rest.isEmpty())
            return R::failure(
                QStringLiteral("SQLite URL \"%1\": the file path is missing").arg(trimmed));
        if (rest == QLatin1String(":memory:") || rest.startsWith(QLatin1String("file:")))
            return R::failure(
                QStringLiteral(
                    "SQLite URL \"%1\": in-memory databases are not supported (every thread has a "
                    "connection of its own); give a file path")
                    .arg(trimmed));
        url.m_path = rest;
        const QUrlQuery items(query);
        for (const auto &[key, value] : items.queryItems(QUrl::FullyDecoded)) {
            if (key == QLatin1String("busy_timeout")) {
                if (!parseMilliseconds(value, &url.m_busyTimeoutMs))
                    return R::failure(QStringLiteral("SQLite URL: busy_timeout must be a "
                                                     "number of milliseconds, not \"%1\"")
                                          .arg(value));
            } else {
                return R::failure(
                    QStringLiteral("SQLite URL: unknown parameter \"%1\" (known: busy_timeout)")
                        .arg(key));
            }
        }
        return url;
    }

    const bool isPostgres =
        trimmed.startsWith(QLatin1String("postgresql://"), Qt::CaseInsensitive) ||
        trimmed.startsWith(QLatin1String("postgres://"), Qt::CaseInsensitive);
    if (!isPostgres) {
        return R::failure(
            QStringLiteral("unsupported database URL \"%1\": it must start with "
                           "sqlite: or postgresql://")
                .arg(trimmed.section(QLatin1Char(':'), 0, 0) + QStringLiteral(":...")));
    }
    url.m_backend = Backend::PostgreSQL;
    const QUrl parsed(trimmed, QUrl::StrictMode);
    if (!parsed.isValid())
        return R::failure(QStringLiteral("invalid PostgreSQL URL: %1").arg(parsed.errorString()));
    url.m_host = parsed.host(QUrl::FullyDecoded);
    if (url.m_host.isEmpty())
        return R::failure(QStringLiteral("PostgreSQL URL: the host is missing "
                                         "(postgresql://user@host:5432/dbname)"));
    url.m_port = parsed.port(5432);
    if (url.m_port <= 0 || url.m_port > 65535)
        return R::failure(QStringLiteral("PostgreSQL URL: invalid port"));
    url.m_user = parsed.userName(QUrl::FullyDecoded);
    url.m_password = parsed.password(QUrl::FullyDecoded);
    QString path = parsed.path(QUrl::FullyDecoded);
    if (path.startsWith(QLatin1Char('/')))
        path = path.mid(1);
    if (path.isEmpty() || path.contains(QLatin1Char('/')))
        return R::failure(QStringLiteral("PostgreSQL URL: give exactly one database name "
                                         "(postgresql://user@host:5432/dbname)"));
    url.m_database = path;
    const QUrlQuery items(parsed);
    for (const auto &[key, value] : items.queryItems(QUrl::FullyDecoded)) {
        if (!postgresParameters().contains(key))
            return R::failure(QStringLiteral("PostgreSQL URL: unknown parameter \"%1\" (known: %2)")
                                  .arg(key, postgresParameters().join(QStringLiteral(", "))));
        if (key == QLatin1String("statement_timeout")) {
            if (!parseMilliseconds(value, &url.m_statementTimeoutMs))
                return R::failure(QStringLiteral("PostgreSQL URL: statement_timeout must be a "
                                                 "number of milliseconds, not \"%1\"")
                                      .arg(value));
        } else if (key == QLatin1String("schema")) {
            static const QRegularExpression identifier(QStringLiteral("^[a-z_][a-z0-9_]{0,40}$"));
            if (!identifier.match(value).hasMatch())
                return R::failure(QStringLiteral("PostgreSQL URL: schema \"%1\" is not a plain "
                                                 "lower-case identifier")
                                      .arg(value));
            url.m_schema = value;
        } else {
            // Values go into a libpq conninfo string: refuse what could break out of it.
            if (value.contains(QLatin1Char(' ')) || value.contains(QLatin1Char('\'')) ||
                value.contains(QLatin1Char('\\')) || value.contains(QLatin1Char(';')) ||
                value.isEmpty())
                return R::failure(
                    QStringLiteral("PostgreSQL URL: parameter %1 has an invalid value").arg(key));
            static const QStringList sslModes = {
                QStringLiteral("disable"),   QStringLiteral("allow"),
                QStringLiteral("prefer"),    QStringLiteral("require"),
                QStringLiteral("verify-ca"), QStringLiteral("verify-full")};
            if (key == QLatin1String("sslmode") && !sslModes.contains(value))
                return R::failure(QStringLiteral("PostgreSQL URL: sslmode \"%1\" is not one of %2")
                                      .arg(value, sslModes.join(QStringLiteral(", "))));
            if (key == QLatin1String("connect_timeout")) {
                bool ok = false;
                if (value.toInt(&ok) < 0 || !ok)
                    return R::failure(QStringLiteral("PostgreSQL URL: connect_timeout must be "
                                                     "a number of seconds"));
            }
            url.m_parameters.insert(key, value);
        }
    }
    return url;
}

QString DatabaseUrl::toDisplayString() const
{
    if (m_backend == Backend::SQLite) {
        QString text = m_path.startsWith(QLatin1Char('/')) ? QStringLiteral("sqlite://") + m_path
                                                           : QStringLiteral("sqlite:") + m_path;
        if (m_busyTimeoutMs >= 0)
            text += QStringLiteral("?busy_timeout=%1").arg(m_busyTimeoutMs);
        return text;
    }
    QUrl url;
    url.setScheme(QStringLiteral("postgresql"));
    url.setHost(m_host);
    url.setPort(m_port);
    url.setUserName(m_user);
    if (!m_password.isEmpty())
        url.setPassword(QStringLiteral("****"));
    url.setPath(QLatin1Char('/') + m_database);
    QUrlQuery query;
    for (auto it = m_parameters.cbegin(); it != m_parameters.cend(); ++it)
        query.addQueryItem(it.key(), it.value());
    if (!m_schema.isEmpty())
        query.addQueryItem(QStringLiteral("schema"), m_schema);
    if (m_statementTimeoutMs >= 0)
        query.addQueryItem(QStringLiteral("statement_timeout"),
                           QString::number(m_statementTimeoutMs));
    if (!query.isEmpty())
        url.setQuery(query);
    return url.toString();
}

} // namespace Warden
