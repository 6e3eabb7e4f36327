// The console end to end: a real Host in this process and the console on the same SQLite
// file. Every admin action changes the store and the running host obeys it within a second;
// the console survives a database outage and recovers by itself; the selection survives
// refreshes; the layout and filters persist.

#include "decoratedstore.h"

#include "commandline.h"
#include "consolehost.h"
#include "dialogs.h"
#include "logmodel.h"
#include "mainwindow.h"
#include "rowtablemodel.h"
#include "rundialog.h"

#include <warden/adminactions.h>
#include <warden/host.h>
#include <warden/periodicworker.h>
#include <warden/sql/database.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QDirIterator>
#include <QtCore/QProcess>
#include <QtCore/QSettings>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>
#include <QtWidgets/QAbstractButton>
#include <QtWidgets/QApplication>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QInputDialog>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QTableView>

using namespace Warden;
using namespace Warden::Console;
using namespace std::chrono_literals;

namespace {

Connector faultyConnector(std::shared_ptr<ConsoleTest::Faults> faults)
{
    return [faults](const QString &url, const QString &password) -> Result<Backend> {
        if (faults->isFailing)
            return Result<Backend>::failure(ConsoleTest::outageText());
        auto opened = openDatabase(url, password);
        if (!opened)
            return opened;
        Backend backend = opened.value();
        backend.store = std::make_shared<ConsoleTest::DecoratedStore>(backend.store, faults);
        backend.lockManager =
            std::make_shared<ConsoleTest::DecoratedLockManager>(backend.lockManager, faults);
        return backend;
    };
}

WorkerState hostState(const Host &host, const QString &worker)
{
    for (const WorkerStatus &s : host.snapshot()) {
        if (s.worker == worker)
            return s.state;
    }
    return WorkerState::Stopped;
}

bool isCi()
{
    return qEnvironmentVariable("CI") == QLatin1String("true");
}

} // namespace

class tst_Console : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();
    void actionsReachRunningHost();
    void releaseConfirmationNamesHolder();
    void selectionSurvivesRefresh();
    void recoversAfterOutage_sqlite();
    void recoversAfterOutage_postgresql();
    void layoutAndFiltersPersist();
    void hostModeRunsConfigWorkers();
    void logFiltersReachTheQuery();
    void passwordPromptAfterAuthenticationError();
    void hostModeRefusesBrokenConfig();
    void missingSqliteFileIsNotCreated();
    void badDatabaseUrlIsUsageError();

private:
    void startHost(const QString &url);

    QTemporaryDir m_dir;
    QString m_url;
    QString m_pgPassFile; //!< as the test started (recoversAfterOutage_postgresql changes it)
    std::unique_ptr<Host> m_host;
    std::optional<Database> m_db;
    std::unique_ptr<MainWindow> m_window;
};

void tst_Console::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_pgPassFile = qEnvironmentVariable("PGPASSFILE");
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope,
                       m_dir.filePath(QStringLiteral("settings")));
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope,
                       m_dir.filePath(QStringLiteral("settings")));
    QCoreApplication::setOrganizationName(QStringLiteral("WardenTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_console"));
}

void tst_Console::init()
{
    // Each test starts with the default layout and no filters.
    QSettings().clear();
    static int n = 0;
    m_url = QStringLiteral("sqlite://") + m_dir.filePath(QStringLiteral("store%1.db").arg(++n));
}

void tst_Console::cleanup()
{
    m_window.reset();
    if (m_host) {
        QSignalSpy stopped(m_host.get(), &Host::stopped);
        m_host->stop();
        QVERIFY(stopped.wait(10000) || !stopped.isEmpty());
        m_host.reset();
    }
    m_db.reset();
}

void tst_Console::startHost(const QString &url)
{
    auto db = Database::open(url);
    QVERIFY2(db.isOk(), qPrintable(db.errorString()));
    m_db = db.value();
    m_host = std::make_unique<Host>();
    m_host->setNodeId(QStringLiteral("node-a"));
    m_host->setStore(m_db->store());
    m_host->setLockManager(m_db->lockManager());
    m_host->setSettingsPollInterval(100ms);
    m_host->setHeartbeatInterval(200ms);
    m_host->setLeaseTimeToLive(3000ms);
    auto *ticker =
        PeriodicWorker::create(QStringLiteral("ticker"), [](RunContext &c) { c.info() << "tick"; });
    ticker->setInterval(300ms);
    QVERIFY(m_host->addWorker(ticker));
    // Runs rarely on its own: "run now" must be what makes it run.
    auto *rare = PeriodicWorker::create(QStringLiteral("rare"), [](RunContext &) {});
    rare->setInterval(std::chrono::hours(1));
    rare->setInitialDelay(std::chrono::hours(1));
    QVERIFY(m_host->addWorker(rare));
    auto *leader = PeriodicWorker::create(QStringLiteral("leader"), [](RunContext &) {});
    leader->setInterval(200ms);
    leader->setLock(LockMode::Leader);
    QVERIFY(m_host->addWorker(leader));
    QSignalSpy started(m_host.get(), &Host::started);
    m_host->start();
    QVERIFY(started.wait(5000) || !started.isEmpty());
}

void tst_Console::actionsReachRunningHost()
{
    startHost(m_url);
    m_window = std::make_unique<MainWindow>();
    MainWindow &w = *m_window;
    w.client()->setPollInterval(200);
    w.show();
    w.openStore(m_url);
    QTRY_VERIFY_WITH_TIMEOUT(w.workerModel()->rowOf(QStringLiteral("ticker")) >= 0, 10000);
    QTRY_VERIFY(w.selectWorker(QStringLiteral("ticker")));
    QTRY_VERIFY(w.action(QStringLiteral("disable"))->isEnabled());
    auto store = m_db->store();
    auto settingOf = [&](const QString &worker) {
        const auto all = store->workerSettings();
        for (const WorkerSettings &s : all.value())
            if (s.worker == worker)
                return s;
        return WorkerSettings();
    };

    // Disable, through the toolbar action and its dialog.
    w.action(QStringLiteral("disable"))->trigger();
    DisableDialog *dialog = nullptr;
    QTRY_VERIFY((dialog = w.findChild<DisableDialog *>()) != nullptr);
    dialog->findChild<QLineEdit *>()->setText(QStringLiteral("maintenance window"));
    QElapsedTimer obeyed;
    obeyed.start();
    dialog->accept();
    QTRY_COMPARE_WITH_TIMEOUT(hostState(*m_host, QStringLiteral("ticker")), WorkerState::Disabled,
                              3000);
    qInfo("disable reached the host after %lld ms", obeyed.elapsed());
    QVERIFY(obeyed.elapsed() < 1500);
    QCOMPARE(settingOf(QStringLiteral("ticker")).enabled, false);
    QCOMPARE(settingOf(QStringLiteral("ticker")).reason, QStringLiteral("maintenance window"));
    QCOMPARE(settingOf(QStringLiteral("ticker")).changedBy, AdminActions::currentUser());
    // The console shows it, from the store.
    const int row = w.workerModel()->rowOf(QStringLiteral("ticker"));
    QTRY_COMPARE(w.workerModel()->textAt(row, int(WorkerColumn::Switch)),
                 QStringLiteral("disabled"));
    QTRY_COMPARE(w.workerModel()->textAt(row, int(WorkerColumn::Reason)),
                 QStringLiteral("maintenance window"));

    // Enable.
    obeyed.restart();
    w.action(QStringLiteral("enable"))->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(hostState(*m_host, QStringLiteral("ticker")) != WorkerState::Disabled,
                             3000);
    QVERIFY(obeyed.elapsed() < 1500);
    QVERIFY(settingOf(QStringLiteral("ticker")).enabled);

    // Pause until a time.
    w.action(QStringLiteral("pause"))->trigger();
    QTRY_VERIFY((dialog = w.findChild<DisableDialog *>()) != nullptr);
    QVERIFY(dialog->until().isValid());
    dialog->findChild<QLineEdit *>()->setText(QStringLiteral("deploy"));
    obeyed.restart();
    dialog->accept();
    QTRY_COMPARE_WITH_TIMEOUT(hostState(*m_host, QStringLiteral("ticker")), WorkerState::Disabled,
                              3000);
    QVERIFY(obeyed.elapsed() < 1500);
    QVERIFY(settingOf(QStringLiteral("ticker")).isPausedAt(QDateTime::currentDateTimeUtc()));
    QTRY_VERIFY(w.workerModel()
                    ->textAt(row, int(WorkerColumn::Switch))
                    .startsWith(QStringLiteral("paused until")));
    w.action(QStringLiteral("enable"))->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(hostState(*m_host, QStringLiteral("ticker")) != WorkerState::Disabled,
                             3000);

    // Run now: the rare worker runs at once, marked manual.
    QSignalSpy runs(m_host.get(), &Host::runFinished);
    QTRY_VERIFY(w.selectWorker(QStringLiteral("rare")));
    // The host takes a trigger sequence it sees for the first time as its baseline (core's
    // HostControl::applySettings), so the worker gets its settings row first.
    w.action(QStringLiteral("enable"))->trigger();
    QTRY_VERIFY(settingOf(QStringLiteral("rare")).worker == QLatin1String("rare"));
    QTest::qWait(300); // the host's settings poll sees the row
    obeyed.restart();
    w.action(QStringLiteral("trigger"))->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (const auto &args : runs)
                if (args.at(0).value<RunRecord>().worker == QLatin1String("rare") &&
                    args.at(0).value<RunRecord>().isManual())
                    return true;
            return false;
        }(),
        3000);
    qInfo("run now reached the host after %lld ms", obeyed.elapsed());
    QVERIFY(obeyed.elapsed() < 1500);

    // Every action is in the audit trail with the OS user, and the console shows it.
    const auto audit = store->auditTrail(20).value();
    QStringList actions;
    for (const AuditEntry &e : audit) {
        QCOMPARE(e.user, AdminActions::currentUser());
        QCOMPARE(e.origin, QStringLiteral("warden-console"));
        actions.prepend(e.action);
    }
    QCOMPARE(actions, (QStringList{QStringLiteral("disable"), QStringLiteral("enable"),
                                   QStringLiteral("pause"), QStringLiteral("enable"),
                                   QStringLiteral("enable"), QStringLiteral("trigger")}));
    QTRY_COMPARE(w.auditModel()->rowCount(), 6);
    // And the log tail shows the host's lines.
    QTRY_VERIFY(w.logModel()->rowCount() > 0);
}

void tst_Console::releaseConfirmationNamesHolder()
{
    startHost(m_url);
    m_window = std::make_unique<MainWindow>();
    MainWindow &w = *m_window;
    w.client()->setPollInterval(200);
    w.show();
    w.openStore(m_url);
    QTRY_VERIFY_WITH_TIMEOUT(w.lockModel()->rowOf(QStringLiteral("leader")) >= 0, 10000);
    const int row = w.lockModel()->rowOf(QStringLiteral("leader"));
    QTRY_COMPARE(w.lockModel()->textAt(row, int(LockColumn::Holder)), QStringLiteral("node-a"));
    const qint64 tokenBefore = m_db->lockManager()->leases().value().first().fencingToken;
    w.setView(MainWindow::View::Locks);
    QVERIFY(w.selectLock(QStringLiteral("leader")));
    QTRY_VERIFY(w.action(QStringLiteral("release"))->isEnabled());
    w.action(QStringLiteral("release"))->trigger();
    QMessageBox *box = nullptr;
    QTRY_VERIFY((box = w.findChild<QMessageBox *>(QStringLiteral("releaseConfirmation"))) !=
                nullptr);
    QVERIFY2(box->text().contains(QStringLiteral("node-a")), qPrintable(box->text()));
    QAbstractButton *release = nullptr;
    for (QAbstractButton *b : box->buttons())
        if (box->buttonRole(b) == QMessageBox::DestructiveRole)
            release = b;
    QVERIFY(release);
    release->click();
    // The lease was taken away (audited) and the host, the only candidate, takes it again
    // with a greater fencing token.
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            const auto audit = m_db->store()->auditTrail(5).value();
            return !audit.isEmpty() && audit.first().action == QLatin1String("release") &&
                   audit.first().target == QLatin1String("leader");
        }(),
        3000);
    QTRY_VERIFY_WITH_TIMEOUT(
        m_db->lockManager()->leases().value().first().fencingToken > tokenBefore, 5000);
    QTRY_VERIFY(w.lockModel()->textAt(row, int(LockColumn::Token)).toLongLong() > tokenBefore);
}

void tst_Console::selectionSurvivesRefresh()
{
    startHost(m_url);
    m_window = std::make_unique<MainWindow>();
    MainWindow &w = *m_window;
    w.client()->setPollInterval(100);
    w.show();
    w.openStore(m_url);
    QTRY_VERIFY_WITH_TIMEOUT(w.workerModel()->rowCount() == 3, 10000);
    w.workerView()->sortByColumn(int(WorkerColumn::Name), Qt::DescendingOrder);
    QVERIFY(w.selectWorker(QStringLiteral("leader")));
    QSignalSpy applied(&w, &MainWindow::snapshotApplied);
    QSignalSpy reset(w.workerModel(), &QAbstractItemModel::modelReset);
    QTRY_VERIFY_WITH_TIMEOUT(applied.count() >= 5, 10000);
    QCOMPARE(reset.count(), 0);
    QCOMPARE(w.selectedWorker(), QStringLiteral("leader"));
    QCOMPARE(w.workerView()->currentIndex().data(KeyRole).toString(), QStringLiteral("leader"));
    QCOMPARE(w.workerProxy()->index(0, 0).data().toString(), QStringLiteral("ticker"));
    // The history of the selected worker arrived and keeps its rows.
    QTRY_VERIFY(w.runModel()->rowCount() > 0);

    // A run opens in a dialog (double-click or Enter), read in the query thread.
    QVERIFY(w.selectWorker(QStringLiteral("ticker")));
    QTRY_VERIFY(w.runModel()->rowCount() > 0);
    QTableView *runs = w.runView();
    const QModelIndex first = runs->model()->index(0, 0);
    const QString runId = first.data(KeyRole).toString();
    QVERIFY(!runId.isEmpty());
    runs->setCurrentIndex(first);
    runs->setFocus();
    QTest::keyClick(runs, Qt::Key_Return);
    RunDialog *dialog = nullptr;
    QTRY_VERIFY((dialog = w.findChild<RunDialog *>(QStringLiteral("runDialog"))) != nullptr);
    QCOMPARE(dialog->runId(), runId);
    QVERIFY(dialog->windowTitle().contains(QStringLiteral("ticker")));
    QVERIFY2(dialog->logText().contains(QStringLiteral("tick")), qPrintable(dialog->logText()));
    if (const QByteArray dir = qgetenv("WARDEN_TEST_SCREENSHOT_DIR"); !dir.isEmpty())
        QVERIFY(
            dialog->grab().save(QString::fromLocal8Bit(dir) + QStringLiteral("/run-dialog.png")));
    dialog->close();
}

void tst_Console::recoversAfterOutage_sqlite()
{
    startHost(m_url);
    auto faults = std::make_shared<ConsoleTest::Faults>();
    m_window = std::make_unique<MainWindow>(faultyConnector(faults));
    MainWindow &w = *m_window;
    w.client()->setPollInterval(100);
    w.client()->setBackOff(100, 400);
    w.show();
    w.openStore(m_url);
    QTRY_VERIFY_WITH_TIMEOUT(w.workerModel()->rowCount() == 3, 10000);
    QVERIFY(w.selectWorker(QStringLiteral("ticker")));
    QVERIFY(!w.isBannerVisible());

    faults->isFailing = true;
    QTRY_VERIFY_WITH_TIMEOUT(w.isBannerVisible(), 5000);
    // What was there stays, and the window answers.
    QCOMPARE(w.workerModel()->rowCount(), 3);
    QElapsedTimer responsive;
    responsive.start();
    QTest::qWait(1500); // retries and reopens meanwhile
    QVERIFY(w.isBannerVisible());
    QCOMPARE(w.client()->state(), ConnectionState::Lost);

    faults->isFailing = false;
    QTRY_VERIFY_WITH_TIMEOUT(!w.isBannerVisible(), 5000);
    QCOMPARE(w.client()->state(), ConnectionState::Connected);
    QCOMPARE(w.selectedWorker(), QStringLiteral("ticker"));
    QSignalSpy applied(&w, &MainWindow::snapshotApplied);
    QVERIFY(applied.wait(5000));
}

void tst_Console::recoversAfterOutage_postgresql()
{
    if (qEnvironmentVariable("WARDEN_TEST_PG_URL").isEmpty()) {
        if (isCi())
            QFAIL("WARDEN_TEST_PG_URL is not set: start a server with tests/sql/pg-server.sh "
                  "start DIR and eval its output (./dev test does)");
        QSKIP("WARDEN_TEST_PG_URL is not set: start a server with tests/sql/pg-server.sh");
    }
    // A server of our own, so that stopping it disturbs no other test.
    QTemporaryDir pgDir;
    auto server = [&](const QString &what, QByteArray *output = nullptr) {
        QProcess p;
        p.setProcessChannelMode(QProcess::SeparateChannels);
        p.start(QStringLiteral(WARDEN_PG_SERVER_SCRIPT), {what, pgDir.path()});
        const bool ok =
            p.waitForFinished(90000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
        if (output)
            *output = p.readAllStandardOutput();
        return ok;
    };
    QByteArray exports;
    QVERIFY(server(QStringLiteral("start"), &exports));
    struct Stop
    {
        std::function<bool(const QString &, QByteArray *)> server;
        ~Stop() { server(QStringLiteral("stop"), nullptr); }
    } stop{server};
    QString url;
    for (const QByteArray &line : exports.split('\n')) {
        const QString text = QString::fromUtf8(line).trimmed();
        static const QRegularExpression re(QStringLiteral("^export (\\w+)=['\"]?([^'\"]*)['\"]?$"));
        const auto m = re.match(text);
        if (!m.hasMatch())
            continue;
        if (m.captured(1) == QLatin1String("WARDEN_TEST_PG_URL"))
            url = m.captured(2);
        else if (m.captured(1) == QLatin1String("PGPASSFILE"))
            qputenv("PGPASSFILE", m.captured(2).toUtf8());
    }
    QVERIFY2(!url.isEmpty(), exports.constData());

    m_window = std::make_unique<MainWindow>();
    MainWindow &w = *m_window;
    w.client()->setPollInterval(200);
    w.client()->setBackOff(200, 1000);
    w.show();
    w.openStore(url);
    QTRY_COMPARE_WITH_TIMEOUT(w.client()->state(), ConnectionState::Connected, 15000);
    QVERIFY(!w.isBannerVisible());

    QVERIFY(server(QStringLiteral("pause")));
    QTRY_VERIFY_WITH_TIMEOUT(w.isBannerVisible(), 15000);
    QVERIFY(server(QStringLiteral("resume")));
    QTRY_VERIFY_WITH_TIMEOUT(!w.isBannerVisible(), 30000);
    QCOMPARE(w.client()->state(), ConnectionState::Connected);
    m_window.reset();
}

void tst_Console::layoutAndFiltersPersist()
{
    {
        MainWindow w;
        w.resize(900, 600);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.workerView()->horizontalHeader()->moveSection(int(WorkerColumn::Failures), 1);
        w.workerView()->setColumnWidth(int(WorkerColumn::Name), 321);
        w.workerProxy()->setText(QString());
        const auto edits = w.findChildren<QLineEdit *>();
        for (QLineEdit *edit : edits) {
            if (edit->placeholderText().startsWith(QStringLiteral("Filter workers")))
                edit->setText(QStringLiteral("import"));
        }
        w.setView(MainWindow::View::Nodes);
        w.close();
    }
    MainWindow again;
    QCOMPARE(again.view(), MainWindow::View::Nodes);
    QCOMPARE(again.workerView()->horizontalHeader()->visualIndex(int(WorkerColumn::Failures)), 1);
    QCOMPARE(again.workerView()->columnWidth(int(WorkerColumn::Name)), 321);
    QCOMPARE(again.workerProxy()->text(), QStringLiteral("import"));
    QCOMPARE(again.size(), QSize(900, 600));
    // The settings went to the temporary location, not the user's.
    QSettings settings;
    QVERIFY2(settings.fileName().startsWith(m_dir.path()), qPrintable(settings.fileName()));
}

// The desktop mode, started as `warden-console --host CONFIG` starts it: the config's workers
// run inside the console, show up in its views (read from the config's store), obey its
// actions, and stop gracefully when the window closes.
void tst_Console::hostModeRunsConfigWorkers()
{
    const QString config = m_dir.filePath(QStringLiteral("hosted.toml"));
    {
        QFile file(config);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(R"(
[host]
node_id = "desk"
database = "sqlite:hosted.db"
shutdown_timeout = "10s"

[workers.ticker]
type = "command"
every = "1s"
command = ["echo", "tick"]

[workers.sleeper]
type = "command"
every = "1s"
command = ["sleep", "120"]
)");
    }
    CommandLine commandLine;
    QVERIFY2(commandLine.parse({QStringLiteral("warden-console"), QStringLiteral("--host"), config,
                                QStringLiteral("--poll-interval"), QStringLiteral("200")}),
             qPrintable(commandLine.errorText()));
    QVERIFY(commandLine.helpText().contains(QStringLiteral("--host <file>")));
    m_window = std::make_unique<MainWindow>();
    MainWindow &w = *m_window;
    QString error;
    QVERIFY2(startConsole(w, commandLine.options(), &error), qPrintable(error));
    w.show();
    ConsoleHost *host = w.host();
    QVERIFY(host);
    QCOMPARE(host->databaseUrl(),
             QStringLiteral("sqlite://") + m_dir.filePath(QStringLiteral("hosted.db")));
    QSignalSpy states(host, &ConsoleHost::workerStateChanged);
    QSignalSpy runs(host, &ConsoleHost::runFinished);
    QTRY_COMPARE_WITH_TIMEOUT(host->state(), ConsoleHost::State::Running, 15000);
    QCOMPARE(host->nodeId(), QStringLiteral("desk"));
    QCOMPARE(host->workerNames(),
             (QStringList{QStringLiteral("sleeper"), QStringLiteral("ticker")}));
    // The console connected to the config's store by itself, and shows the hosted node and
    // workers there.
    QTRY_COMPARE_WITH_TIMEOUT(w.client()->url(), host->databaseUrl(), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(w.nodeModel()->rowOf(QStringLiteral("desk")) >= 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(w.workerModel()->rowOf(QStringLiteral("ticker")) >= 0 &&
                                 w.workerModel()->rowOf(QStringLiteral("sleeper")) >= 0,
                             10000);
    // They run: the console sees the ticker's runs, and the sleeper running.
    const int ticker = w.workerModel()->rowOf(QStringLiteral("ticker"));
    const int sleeper = w.workerModel()->rowOf(QStringLiteral("sleeper"));
    QTRY_VERIFY_WITH_TIMEOUT(w.workerModel()->textAt(ticker, int(WorkerColumn::Runs)).toInt() >= 2,
                             10000);
    QTRY_COMPARE_WITH_TIMEOUT(w.workerModel()->textAt(sleeper, int(WorkerColumn::State)),
                              QStringLiteral("running"), 10000);
    QVERIFY(!runs.isEmpty());

    // A console action reaches the host inside the console.
    QTRY_VERIFY(w.selectWorker(QStringLiteral("ticker")));
    QTRY_VERIFY(w.action(QStringLiteral("disable"))->isEnabled());
    w.action(QStringLiteral("disable"))->trigger();
    DisableDialog *dialog = nullptr;
    QTRY_VERIFY((dialog = w.findChild<DisableDialog *>()) != nullptr);
    dialog->findChild<QLineEdit *>()->setText(QStringLiteral("desk maintenance"));
    states.clear();
    dialog->accept();
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (const auto &args : std::as_const(states))
                if (args.at(0).toString() == QLatin1String("ticker") &&
                    args.at(1).value<WorkerState>() == WorkerState::Disabled)
                    return true;
            return false;
        }(),
        5000);
    QTRY_COMPARE_WITH_TIMEOUT(w.workerModel()->textAt(ticker, int(WorkerColumn::State)),
                              QStringLiteral("disabled"), 5000);

    // Closing the window stops the hosted workers first; the window closes once they have,
    // and the sleeper's run, cut short, is recorded as cancelled.
    QVERIFY(!w.close());
    QVERIFY(w.isVisible());
    QCOMPARE(host->state(), ConsoleHost::State::Stopping);
    QTRY_COMPARE_WITH_TIMEOUT(host->state(), ConsoleHost::State::Stopped, 15000);
    QTRY_VERIFY(!w.isVisible());
    auto db = Database::open(host->databaseUrl());
    QVERIFY2(db.isOk(), qPrintable(db.errorString()));
    RunQuery query;
    query.worker = QStringLiteral("sleeper");
    const auto sleeperRuns = db.value().store()->runs(query);
    QVERIFY2(sleeperRuns.isOk(), qPrintable(sleeperRuns.errorString()));
    QVERIFY(!sleeperRuns.value().isEmpty());
    QCOMPARE(sleeperRuns.value().first().outcome, RunOutcome::Cancelled);
    QCOMPARE(sleeperRuns.value().first().node, QStringLiteral("desk"));
    // The node signed off.
    const auto nodes = db.value().store()->nodes();
    QVERIFY(nodes.isOk());
    for (const NodeInfo &node : nodes.value())
        QVERIFY2(node.id != QLatin1String("desk"), "the hosted node is still registered");
}

// The log filters go into the store's query: a matching line older than the loaded tail is
// found.
void tst_Console::logFiltersReachTheQuery()
{
    {
        DatabaseOptions options;
        options.maximumQueuedLogLines = 10000;
        auto db = Database::open(m_url, options);
        QVERIFY2(db.isOk(), qPrintable(db.errorString()));
        const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-60);
        for (int i = 0; i < 3000; ++i) {
            LogLine line;
            line.time = start.addMSecs(i);
            line.level = QtInfoMsg;
            line.node = i % 2 ? QStringLiteral("node-a") : QStringLiteral("node-b");
            line.worker = QStringLiteral("busy");
            line.message = QStringLiteral("line %1").arg(i);
            if (i == 5) {
                line.level = QtWarningMsg;
                line.node = QStringLiteral("node-z");
                line.worker = QStringLiteral("quiet");
                line.message = QStringLiteral("the Needle in the haystack");
            }
            db.value().store()->appendLog(line);
        }
        QVERIFY(db.value().store()->flush(30s));
    }
    m_window = std::make_unique<MainWindow>();
    MainWindow &w = *m_window;
    w.client()->setPollInterval(200);
    w.show();
    w.openStore(m_url);
    w.setView(MainWindow::View::Log);
    // The tail: the newest 2,000 lines, without the old one.
    QTRY_COMPARE_WITH_TIMEOUT(w.logModel()->rowCount(), 2000, 10000);
    auto hasNeedle = [&w] {
        for (int r = 0; r < w.logModel()->rowCount(); ++r)
            if (w.logModel()->lineAt(r).line.message.contains(QStringLiteral("Needle")))
                return true;
        return false;
    };
    QVERIFY(!hasNeedle());
    QLineEdit *text = nullptr;
    for (QLineEdit *edit : w.findChildren<QLineEdit *>())
        if (edit->placeholderText() == QLatin1String("Filter the log text"))
            text = edit;
    QVERIFY(text);

    // Text (any case), through the store's query.
    text->setText(QStringLiteral("needle"));
    QTRY_VERIFY_WITH_TIMEOUT(hasNeedle(), 5000);
    QTRY_COMPARE(w.logModel()->rowCount(), 1);
    QCOMPARE(w.logProxy()->rowCount(), 1);

    // Worker, node and level: each alone finds it among the old lines too.
    text->clear();
    QTRY_COMPARE_WITH_TIMEOUT(w.logModel()->rowCount(), 2000, 5000);
    QVERIFY(!hasNeedle());
    const QList<QComboBox *> boxes = w.findChildren<QComboBox *>();
    QComboBox *worker = nullptr, *node = nullptr, *level = nullptr;
    for (QComboBox *box : boxes) {
        if (!box->isEditable() && box->count() == 4)
            level = box;
        else if (box->isEditable() &&
                 box->lineEdit()->placeholderText() == QLatin1String("any worker"))
            worker = box;
        else if (box->isEditable() &&
                 box->lineEdit()->placeholderText() == QLatin1String("any node"))
            node = box;
    }
    QVERIFY(worker && node && level);
    worker->setCurrentText(QStringLiteral("quiet"));
    QTRY_VERIFY_WITH_TIMEOUT(hasNeedle(), 5000);
    QTRY_COMPARE(w.logModel()->rowCount(), 1);
    worker->setCurrentText(QString());
    node->setCurrentText(QStringLiteral("node-z"));
    QTRY_VERIFY_WITH_TIMEOUT(hasNeedle() && w.logModel()->rowCount() == 1, 5000);
    node->setCurrentText(QString());
    level->setCurrentIndex(2); // warnings and above
    QTRY_VERIFY_WITH_TIMEOUT(hasNeedle() && w.logModel()->rowCount() == 1, 5000);
    QCOMPARE(w.logProxy()->rowCount(), 1);
}

// A PostgreSQL server that wants a password the console cannot find: the console asks for it,
// connects with it, and writes it nowhere.
void tst_Console::passwordPromptAfterAuthenticationError()
{
    const QString url = qEnvironmentVariable("WARDEN_TEST_PG_URL");
    const QString passFile = m_pgPassFile;
    if (url.isEmpty() || passFile.isEmpty()) {
        if (isCi())
            QFAIL("WARDEN_TEST_PG_URL and PGPASSFILE are not set: start a server with "
                  "tests/sql/pg-server.sh start DIR and eval its output (./dev test does)");
        QSKIP("WARDEN_TEST_PG_URL is not set: start a server with tests/sql/pg-server.sh");
    }
    QFile file(passFile);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString password =
        QString::fromUtf8(file.readLine().trimmed()).section(QLatin1Char(':'), 4);
    QVERIFY(password.size() >= 8);
    // No password anywhere libpq or the console would look.
    struct Restore
    {
        QByteArray passFile;
        ~Restore() { qputenv("PGPASSFILE", passFile); }
    } restore{passFile.toLocal8Bit()};
    qputenv("PGPASSFILE", m_dir.filePath(QStringLiteral("no-such-passfile")).toLocal8Bit());
    qunsetenv("PGPASSWORD");
    qunsetenv("WARDEN_DB_PASSWORD");

    m_window = std::make_unique<MainWindow>();
    MainWindow &w = *m_window;
    w.client()->setBackOff(200, 1000);
    w.show();
    w.openStore(url);
    QInputDialog *prompt = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((prompt = w.findChild<QInputDialog *>()) != nullptr, 15000);
    QCOMPARE(prompt->textEchoMode(), QLineEdit::Password);
    QVERIFY2(prompt->labelText().contains(QStringLiteral("127.0.0.1")),
             qPrintable(prompt->labelText()));
    // The console leaves the store that refused (in its query thread) while it asks.
    QTRY_COMPARE(w.client()->state(), ConnectionState::Disconnected);
    prompt->setTextValue(password);
    prompt->accept();
    QTRY_COMPARE_WITH_TIMEOUT(w.client()->state(), ConnectionState::Connected, 15000);
    QVERIFY(!w.isBannerVisible());
    // Kept in memory only: not in the process environment, not in the settings, not in the
    // URL the console shows and remembers.
    QVERIFY(qEnvironmentVariable("WARDEN_CONSOLE_DB_PASSWORD").isEmpty());
    QVERIFY(!w.client()->url().contains(password));
    QVERIFY(!w.client()->description().contains(password));
    w.close();
    m_window.reset();
    QSettings().sync();
    QDirIterator files(m_dir.path(), QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    int checked = 0;
    while (files.hasNext()) {
        QFile written(files.next());
        QVERIFY(written.open(QIODevice::ReadOnly));
        QVERIFY2(!written.readAll().contains(password.toUtf8()), qPrintable(written.fileName()));
        ++checked;
    }
    QVERIFY(checked > 0); // the settings file at least
    QVERIFY(QSettings()
                .value(QStringLiteral("connections/recent"))
                .toStringList()
                .contains(url.section(QLatin1Char('?'), 0, 0), Qt::CaseSensitive) ||
            QSettings().value(QStringLiteral("connections/recent")).toStringList().contains(url));
}

void tst_Console::hostModeRefusesBrokenConfig()
{
    const QString config = m_dir.filePath(QStringLiteral("broken.toml"));
    {
        QFile file(config);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write("[host]\ndatabase = \"sqlite:broken.db\"\n\n[workers.x]\ntype = \"command\"\n"
                   "every = \"often\"\ncommand = [\"true\"]\n");
    }
    CommandLine commandLine;
    QVERIFY(
        commandLine.parse({QStringLiteral("warden-console"), QStringLiteral("--host"), config}));
    MainWindow w;
    QString error;
    QVERIFY(!startConsole(w, commandLine.options(), &error));
    QVERIFY2(error.startsWith(config + QStringLiteral(":6:9: ")), qPrintable(error));
    QVERIFY(!w.host());
    QCOMPARE(w.client()->url(), QString());
    QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("broken.db"))));
}

// A mistyped SQLite path must not become an empty store that looks like an idle cluster: the
// console says the file is missing, creates nothing, and connects once warden has created it.
void tst_Console::missingSqliteFileIsNotCreated()
{
    const QString path = m_dir.filePath(QStringLiteral("later/warden.db"));
    const QString url = QStringLiteral("sqlite://") + path;
    m_window = std::make_unique<MainWindow>();
    MainWindow &w = *m_window;
    w.client()->setBackOff(100, 300);
    w.show();
    w.openStore(url);
    QTRY_COMPARE_WITH_TIMEOUT(w.client()->state(), ConnectionState::Lost, 10000);
    QVERIFY(w.isBannerVisible());
    QTest::qWait(500); // several retries
    QVERIFY(!QFileInfo::exists(path));
    QVERIFY(!QFileInfo::exists(QFileInfo(path).absolutePath()));

    QVERIFY(QDir().mkpath(QFileInfo(path).absolutePath()));
    {
        const auto created = Database::open(url); // as `warden run` would
        QVERIFY2(created.isOk(), qPrintable(created.errorString()));
    }
    QTRY_COMPARE_WITH_TIMEOUT(w.client()->state(), ConnectionState::Connected, 10000);
    QVERIFY(!w.isBannerVisible());
}

// A URL that cannot work is refused on the command line (main() exits 64), not retried as an
// outage.
void tst_Console::badDatabaseUrlIsUsageError()
{
    CommandLine commandLine;
    QVERIFY(!commandLine.parse({QStringLiteral("warden-console"), QStringLiteral("--database"),
                                QStringLiteral("mysql://db/app")}));
    QVERIFY2(commandLine.errorText().startsWith(QStringLiteral("--database: ")),
             qPrintable(commandLine.errorText()));
    QVERIFY2(commandLine.errorText().contains(QStringLiteral("postgresql://")),
             qPrintable(commandLine.errorText()));
    QVERIFY(commandLine.parse({QStringLiteral("warden-console"), QStringLiteral("--database"),
                               QStringLiteral("sqlite:///tmp/w.db")}));
}

QTEST_MAIN(tst_Console)
#include "tst_console.moc"
