#pragma once

#include "consoletypes.h"
#include "rowbuilder.h"
#include "tablediffer.h"

#include <warden/lockmanager.h>
#include <warden/result.h>
#include <warden/sql/databaseoptions.h>
#include <warden/store.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>

#include <functional>
#include <memory>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace Warden::Console {

//! A store and its lock manager, as a connector opens them.
struct Backend
{
    std::shared_ptr<Store> store;
    std::shared_ptr<LockManager> lockManager;
    QString description; //!< the URL with its password masked
};

/*!
    Opens \a url; \a password (may be empty) only lives in memory. Called in the query
    thread, so the SQL connections it opens belong to that thread. Tests and the benchmark
    pass their own (a slow or failing store around the real one).
*/
using Connector = std::function<Result<Backend>(const QString &url, const QString &password)>;

//! The default connector: Warden::Database::open().
Result<Backend> openDatabase(const QString &url, const QString &password);
/*!
    Warden::Database::open() with \a options (the password source and timeouts of a config);
    a \a password the user typed takes precedence over the options' password source.
*/
Result<Backend> openDatabase(const QString &url, const QString &password,
                             const DatabaseOptions &options);
//! A connector that opens databases with \a options.
Connector databaseConnector(const DatabaseOptions &options);

/*!
    The console's query thread: a worker object (no parent, moved to a QThread) that owns
    the store and lock manager, runs every query and admin action, and hands the results to
    the GUI thread by queued signals.

    It refreshes once a second (a single-shot timer re-armed after each refresh, so refreshes
    never pile up on a slow database), and at once when the store says that settings changed
    or a lease was released (PostgreSQL LISTEN/NOTIFY, or this process). When the database
    goes away it reports ConnectionState::Lost and retries with back-off, reopening the
    database after repeated failures.
*/
class QueryWorker final : public QObject
{
    Q_OBJECT
public:
    explicit QueryWorker(Connector connector = Connector());
    ~QueryWorker() override;

public Q_SLOTS:
    //! Takes effect at the next connectTo().
    void setConnector(const Warden::Console::Connector &connector);
    void connectTo(const QString &url, const QString &password);
    void disconnectFromStore();
    void refreshNow();
    //! The next refresh sends whole tables (a model lost track of the updates).
    void requestFullTables();
    void setSelectedWorker(const QString &worker);
    /*!
        Only log lines that match \a filter (worker, node, text, minimum level; its id and
        limit are ignored): the tail starts over with the newest matching lines, however old.
    */
    void setLogFilter(const Warden::LogQuery &filter);
    void setPollInterval(int milliseconds);
    void setBackOff(int firstMilliseconds, int maximumMilliseconds);

    void enableWorker(const QString &worker, const QString &reason);
    void disableWorker(const QString &worker, const QString &reason, const QDateTime &until);
    void triggerWorker(const QString &worker);
    void releaseLock(const QString &lock, const QString &reason);
    //! Reads one run and its log lines; runDetailsReady() follows.
    void requestRunDetails(const QString &runId);

Q_SIGNALS:
    void connectionStateChanged(Warden::Console::ConnectionState state, const QString &description,
                                const QString &error, int retryInMs);
    void snapshotReady(const Warden::Console::ClusterSnapshot &snapshot);
    void logLinesReady(const QList<Warden::StoredLogLine> &lines, bool reset);
    void historyReady(const Warden::Console::RunHistory &history);
    void actionFinished(const Warden::Console::ActionResult &result);
    void runDetailsReady(const Warden::Console::RunDetails &details);

private:
    void scheduleRefresh(int delayMs);
    void onTimer();
    bool open();
    void refresh();
    void fail(const QString &error);
    void setState(ConnectionState state, const QString &error = QString(), int retryInMs = 0);
    void finishAction(const QString &action, const QString &target, bool ok,
                      const QString &message);

    Connector m_connector;
    QTimer *m_timer = nullptr;
    Backend m_backend;
    QString m_url;
    QString m_password;
    QString m_selectedWorker;
    LogQuery m_logFilter;
    void resetTables();

    RowBuilder m_builder;
    TableDiffer m_workerTable;
    TableDiffer m_lockTable;
    TableDiffer m_nodeTable;
    TableDiffer m_auditTable;
    TableDiffer m_runTable;
    ConnectionState m_state = ConnectionState::Disconnected;
    qint64 m_lastLogId = 0;
    bool m_logReset = true;
    int m_pollMs = 1000;
    int m_firstBackOffMs = 500;
    int m_maximumBackOffMs = 15000;
    int m_failures = 0;
    QElapsedTimer m_sinceRefresh;
};

} // namespace Warden::Console
