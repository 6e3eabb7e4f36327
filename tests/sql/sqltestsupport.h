#pragma once

// Shared by the SQL tests: every store and lock test runs on SQLite and on PostgreSQL.
//
// PostgreSQL comes from WARDEN_TEST_PG_URL (tests/sql/pg-server.sh prints it). When it is
// unset the PostgreSQL rows are skipped, or fail when CI=true. Every test gets a fresh
// database: a new SQLite file, or a new PostgreSQL schema (URL parameter `schema`).

#include <QtCore/QAtomicInt>
#include <QtCore/QCoreApplication>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <random>

namespace SqlTest {

inline void addBackendColumn()
{
    QTest::addColumn<QString>("backend");
}

inline void addBackendRows()
{
    addBackendColumn();
    QTest::newRow("sqlite") << QStringLiteral("sqlite");
    QTest::newRow("postgresql") << QStringLiteral("postgresql");
}

inline bool isCi()
{
    return qEnvironmentVariable("CI") == QLatin1String("true");
}

inline QString postgresBaseUrl()
{
    return qEnvironmentVariable("WARDEN_TEST_PG_URL");
}

inline QString uniqueSuffix()
{
    static QAtomicInt counter;
    static const quint32 seed = std::random_device()();
    return QStringLiteral("%1_%2_%3")
        .arg(QCoreApplication::applicationPid())
        .arg(seed % 100000)
        .arg(counter.fetchAndAddRelaxed(1));
}

//! A URL of a database nobody used yet; empty when PostgreSQL is not configured.
inline QString freshUrl(const QString &backend, const QTemporaryDir &dir)
{
    if (backend == QLatin1String("sqlite"))
        return QStringLiteral("sqlite://") +
               dir.filePath(QStringLiteral("t%1.db").arg(uniqueSuffix()));
    const QString base = postgresBaseUrl();
    if (base.isEmpty())
        return QString();
    return base + (base.contains(QLatin1Char('?')) ? QLatin1Char('&') : QLatin1Char('?')) +
           QStringLiteral("schema=t_") + uniqueSuffix();
}

} // namespace SqlTest

#define WARDEN_PG_MISSING_TEXT                                                                     \
    "WARDEN_TEST_PG_URL is not set: start a server with tests/sql/pg-server.sh start DIR and "     \
    "eval its output (./dev test does)"

//! Declares QString \a var holding a fresh URL for the row's backend, or skips/fails.
#define WARDEN_FRESH_URL(var, dir)                                                                 \
    QFETCH(QString, backend);                                                                      \
    const QString var = SqlTest::freshUrl(backend, dir);                                           \
    if (var.isEmpty()) {                                                                           \
        if (SqlTest::isCi())                                                                       \
            QFAIL(WARDEN_PG_MISSING_TEXT);                                                         \
        QSKIP(WARDEN_PG_MISSING_TEXT);                                                             \
    }
