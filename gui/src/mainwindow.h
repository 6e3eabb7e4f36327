#pragma once

#include "consoleclient.h"
#include "consolehost.h"
#include "consoletypes.h"

#include <QtCore/QPointer>
#include <QtWidgets/QMainWindow>

QT_BEGIN_NAMESPACE
class QAbstractItemModel;
class QAction;
class QComboBox;
class QFrame;
class QLabel;
class QLineEdit;
class QSplitter;
class QTabWidget;
class QTableView;
class QTimer;
class QToolButton;
QT_END_NAMESPACE

namespace Warden::Console {

class HistoryChart;
class LogFilterProxy;
class LogModel;
class RowTableModel;
class TableFilterProxy;

/*!
    The console's window: workers (with the selected worker's run history), locks, nodes,
    log and audit of one store, and the admin actions on them. Everything it shows comes from
    the ConsoleClient's query thread by signals; it never queries and never waits.
*/
class MainWindow final : public QMainWindow
{
    Q_OBJECT
public:
    enum class View { Workers, Locks, Nodes, Log, Audit };
    Q_ENUM(View)

    explicit MainWindow(Connector connector = Connector(), QWidget *parent = nullptr);
    ~MainWindow() override;

    ConsoleClient *client() const { return m_client; }
    //! Connects to \a url and remembers it among the recent connections.
    void openStore(const QString &url, const QString &password = QString());
    //! Opens the connect dialog (asynchronously).
    void showConnectDialog();
    /*!
        The desktop mode: runs the workers of \a config inside the console (ConsoleHost, in a
        thread of its own) and, once they started, opens the store they use (the config's
        database, or \a databaseOverride). Closing the window then stops them gracefully
        first.
    */
    void startHost(const Config &config, const QString &databaseOverride = QString());
    //! The hosted workers, or null when the console hosts none.
    ConsoleHost *host() const { return m_host; }

    void setView(View view);
    View view() const;
    //! Selects (and shows) the worker \a name; false when it is not in the table.
    bool selectWorker(const QString &name);
    QString selectedWorker() const;
    QString selectedLock() const;
    bool selectLock(const QString &name);

    RowTableModel *workerModel() const { return m_workerModel; }
    RowTableModel *lockModel() const { return m_lockModel; }
    RowTableModel *nodeModel() const { return m_nodeModel; }
    RowTableModel *runModel() const { return m_runModel; }
    RowTableModel *auditModel() const { return m_auditModel; }
    LogModel *logModel() const { return m_logModel; }
    QTableView *workerView() const { return m_workerView; }
    QTableView *logView() const { return m_logView; }
    QTableView *runView() const { return m_runView; }
    TableFilterProxy *workerProxy() const { return m_workerProxy; }
    LogFilterProxy *logProxy() const { return m_logProxy; }
    bool isFollowingLog() const { return m_followLog; }
    bool isBannerVisible() const;
    QAction *action(const QString &name) const;

    /*!
        Saves a PNG of each view into \a directory once the first snapshot arrived and
        \a settleMs passed, then closes the window.
    */
    void takeScreenshots(const QString &directory, int settleMs);

    void saveSettings() const;
    void restoreSettings();

public Q_SLOTS:
    void enableSelected();
    void disableSelected();
    void pauseSelected();
    void runSelectedNow();
    //! Asks for confirmation (naming the holder), then force-releases the selected lease.
    void releaseSelected();
    void setFollowLog(bool follow);
    void copyLogSelection();
    void exportLog();

Q_SIGNALS:
    //! A snapshot reached the models; \a nanoseconds is the GUI-thread time it took.
    void snapshotApplied(qint64 nanoseconds);
    void logApplied(qint64 nanoseconds);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    QWidget *buildWorkersPage();
    QWidget *buildTablePage(RowTableModel *model, TableFilterProxy *proxy, QTableView **view,
                            const QString &filterPlaceholder, QLineEdit **filter);
    QWidget *buildLogPage();
    QTableView *makeTable(QAbstractItemModel *model);

    void applySnapshot(const ClusterSnapshot &snapshot);
    void applyLog(const QList<StoredLogLine> &lines, bool reset);
    void drainLog();
    void applyHistory(const RunHistory &history);
    //! Opens the run of \a index in the run history (double-click or Enter).
    void openRun(const QModelIndex &index);
    void showRun(const RunDetails &details);
    void onConnectionState(ConnectionState state, const QString &description, const QString &error,
                           int retryInMs);
    void onActionFinished(const ActionResult &result);
    void onHostState(ConsoleHost::State state, const QString &message);
    void updateActions();
    void onWorkerSelectionChanged();
    //! Asks for the password of \a url, then connects again with it (kept in memory only).
    void askPassword(const QString &url);
    //! Hands the log filters to the query (older matching lines load too).
    void sendLogFilter();
    void tick();
    void nextScreenshot();

    ConsoleClient *m_client = nullptr;
    ConsoleHost *m_host = nullptr;
    bool m_hasOwnConnector = false;
    bool m_closeWhenHostStopped = false;
    RowTableModel *m_workerModel = nullptr;
    RowTableModel *m_lockModel = nullptr;
    RowTableModel *m_nodeModel = nullptr;
    RowTableModel *m_runModel = nullptr;
    RowTableModel *m_auditModel = nullptr;
    LogModel *m_logModel = nullptr;
    TableFilterProxy *m_workerProxy = nullptr;
    TableFilterProxy *m_lockProxy = nullptr;
    TableFilterProxy *m_nodeProxy = nullptr;
    TableFilterProxy *m_runProxy = nullptr;
    TableFilterProxy *m_auditProxy = nullptr;
    LogFilterProxy *m_logProxy = nullptr;

    QTabWidget *m_tabs = nullptr;
    QTableView *m_workerView = nullptr;
    QTableView *m_lockView = nullptr;
    QTableView *m_nodeView = nullptr;
    QTableView *m_runView = nullptr;
    QTableView *m_auditView = nullptr;
    QTableView *m_logView = nullptr;
    HistoryChart *m_chart = nullptr;
    QSplitter *m_workerSplitter = nullptr;
    QSplitter *m_historySplitter = nullptr;
    QLineEdit *m_workerFilter = nullptr;
    QComboBox *m_stateFilter = nullptr;
    QLineEdit *m_lockFilter = nullptr;
    QLineEdit *m_nodeFilter = nullptr;
    QLineEdit *m_auditFilter = nullptr;
    QComboBox *m_logNode = nullptr;
    QComboBox *m_logWorker = nullptr;
    QComboBox *m_logLevel = nullptr;
    QLineEdit *m_logText = nullptr;
    QToolButton *m_followButton = nullptr;
    QFrame *m_banner = nullptr;
    QLabel *m_bannerText = nullptr;
    QLabel *m_connectionLabel = nullptr;
    QLabel *m_refreshLabel = nullptr;
    QLabel *m_countsLabel = nullptr;
    QLabel *m_hostLabel = nullptr;
    QTimer *m_ticker = nullptr;
    QTimer *m_logDrain = nullptr;
    QTimer *m_logFilterDelay = nullptr;
    QList<StoredLogLine> m_pendingLog;

    QHash<QString, QAction *> m_actions;
    QString m_password;
    QString m_openingRun; // the run whose details were asked for
    bool m_followLog = true;
    bool m_scrollingLog = false;
    bool m_passwordAsked = false;
    QPointer<QDialog> m_openDialog;

    QString m_screenshotDirectory;
    int m_screenshotSettleMs = 0;
    int m_screenshotIndex = -1;
    bool m_screenshotStarted = false;
};

} // namespace Warden::Console
