#pragma once

#include "consoletypes.h"
#include "queryworker.h"

#include <QtCore/QObject>
#include <QtCore/QThread>

namespace Warden::Console {

/*!
    The GUI thread's handle on the query thread: it owns the QThread and the QueryWorker in
    it, posts requests to the worker (queued, never waiting), and re-emits its results. The
    destructor quits the thread and waits for it (the qtbase worker pattern).
*/
class ConsoleClient final : public QObject
{
    Q_OBJECT
public:
    explicit ConsoleClient(Connector connector = Connector(), QObject *parent = nullptr);
    ~ConsoleClient() override;

    //! How the next connectTo() opens its store (null: Warden::Database::open()).
    void setConnector(Connector connector);
    void connectTo(const QString &url, const QString &password = QString());
    void disconnectFromStore();
    void refreshNow();
    //! The next refresh sends whole tables (a model lost track of the updates).
    void requestFullTables();
    void setSelectedWorker(const QString &worker);
    //! Filters the log in the query: see QueryWorker::setLogFilter().
    void setLogFilter(const Warden::LogQuery &filter);
    void setPollInterval(int milliseconds);
    void setBackOff(int firstMilliseconds, int maximumMilliseconds);

    void enableWorker(const QString &worker, const QString &reason = QString());
    //! Disables \a worker; with a valid \a until it is a pause.
    void disableWorker(const QString &worker, const QString &reason,
                       const QDateTime &until = QDateTime());
    void triggerWorker(const QString &worker);
    void releaseLock(const QString &lock, const QString &reason = QString());
    //! Reads one run and its log lines in the query thread; runDetailsReady() follows.
    void requestRunDetails(const QString &runId);

    ConnectionState state() const { return m_state; }
    QString url() const { return m_url; }
    QString description() const { return m_description; }
    QThread *queryThread() const { return m_thread; }

Q_SIGNALS:
    void connectionStateChanged(Warden::Console::ConnectionState state, const QString &description,
                                const QString &error, int retryInMs);
    void snapshotReady(const Warden::Console::ClusterSnapshot &snapshot);
    void logLinesReady(const QList<Warden::StoredLogLine> &lines, bool reset);
    void historyReady(const Warden::Console::RunHistory &history);
    void actionFinished(const Warden::Console::ActionResult &result);
    void runDetailsReady(const Warden::Console::RunDetails &details);

private:
    template<typename F> void post(F &&function);

    QThread *m_thread = nullptr;
    QueryWorker *m_worker = nullptr;
    ConnectionState m_state = ConnectionState::Disconnected;
    QString m_url;
    QString m_description;
};

} // namespace Warden::Console
