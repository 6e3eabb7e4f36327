// The console's models on their own: QAbstractItemModelTester, incremental updates with the
// exact roles, selection and sort order that survive a refresh, and the rows the query thread
// builds.

#include "logmodel.h"
#include "rowbuilder.h"
#include "rowtablemodel.h"
#include "tablediffer.h"

#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QtTest>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QScrollBar>
#include <QtWidgets/QTableView>

using namespace Warden;
using namespace Warden::Console;

namespace {

TableRow row(const QString &key, const QString &state, qint64 runs)
{
    TableRow r;
    r.key = key;
    Cell name;
    name.text = key;
    Cell stateCell;
    stateCell.text = state;
    stateCell.icon = QStringLiteral("state-") + state;
    Cell runsCell;
    runsCell.text = QString::number(runs);
    runsCell.sortValue = runs;
    r.cells = {name, stateCell, runsCell};
    return r;
}

QStringList keys(const QAbstractItemModel &model)
{
    QStringList out;
    for (int r = 0; r < model.rowCount(); ++r)
        out.append(model.index(r, 0).data(KeyRole).toString());
    return out;
}

} // namespace

class tst_ConsoleModels : public QObject
{
    Q_OBJECT
private slots:
    void rowModelPassesTester();
    void changedCellsReportExactRoles();
    void insertsAndRemovesWithoutReset();
    void updatesFromTheQueryThread();
    void selectionAndSortSurviveRefresh();
    void countdownTicks();
    void logModelTailAndTrim();
    void logFilters();
    void cronNextFireTimes();
    void intervalNextFireTimes();
    void nodeHealthFollowsHeartbeatInterval();
    void workerRowsAggregateNodes();
};

void tst_ConsoleModels::rowModelPassesTester()
{
    RowTableModel model({QStringLiteral("Name"), QStringLiteral("State"), QStringLiteral("Runs")});
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    TableFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester proxyTester(&proxy,
                                         QAbstractItemModelTester::FailureReportingMode::Fatal);
    proxy.sort(2, Qt::DescendingOrder);
    model.setRows({row(QStringLiteral("a"), QStringLiteral("idle"), 1),
                   row(QStringLiteral("b"), QStringLiteral("running"), 2)});
    model.setRows({row(QStringLiteral("b"), QStringLiteral("idle"), 3),
                   row(QStringLiteral("c"), QStringLiteral("failed"), 0)});
    proxy.setText(QStringLiteral("fail"));
    QCOMPARE(proxy.rowCount(), 1);
    proxy.setText(QString());
    proxy.setColumnFilter(1, {QStringLiteral("idle")});
    QCOMPARE(proxy.rowCount(), 1);
    proxy.setColumnFilter(1, {});
    model.setRows({});
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.index(0, 0).data(), QVariant());
}

void tst_ConsoleModels::changedCellsReportExactRoles()
{
    RowTableModel model({QStringLiteral("Name"), QStringLiteral("State"), QStringLiteral("Runs")});
    model.setRows({row(QStringLiteral("a"), QStringLiteral("idle"), 1),
                   row(QStringLiteral("b"), QStringLiteral("idle"), 1)});
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy layout(&model, &QAbstractItemModel::layoutChanged);
    // Same rows: nothing to say.
    model.setRows({row(QStringLiteral("a"), QStringLiteral("idle"), 1),
                   row(QStringLiteral("b"), QStringLiteral("idle"), 1)});
    QCOMPARE(changed.count(), 0);
    // b's state changes (text and icon), a's run count (text and sort value).
    model.setRows({row(QStringLiteral("a"), QStringLiteral("idle"), 2),
                   row(QStringLiteral("b"), QStringLiteral("running"), 1)});
    QCOMPARE(changed.count(), 2);
    QCOMPARE(reset.count(), 0);
    QCOMPARE(layout.count(), 0);
    // Reported column by column.
    const auto first = changed.at(0);
    QCOMPARE(first.at(0).toModelIndex(), model.index(1, 1));
    QCOMPARE(first.at(1).toModelIndex(), model.index(1, 1));
    QCOMPARE(first.at(2).value<QList<int>>(),
             (QList<int>{Qt::DisplayRole, SortRole, Qt::DecorationRole}));
    const auto second = changed.at(1);
    QCOMPARE(second.at(0).toModelIndex(), model.index(0, 2));
    QCOMPARE(second.at(1).toModelIndex(), model.index(0, 2));
    QCOMPARE(second.at(2).value<QList<int>>(), (QList<int>{Qt::DisplayRole, SortRole}));
    // Runs of rows that changed alike come as one range; the roles stay exact.
    changed.clear();
    model.setRows({row(QStringLiteral("a"), QStringLiteral("idle"), 5),
                   row(QStringLiteral("b"), QStringLiteral("running"), 6)});
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toModelIndex(), model.index(0, 2));
    QCOMPARE(changed.at(0).at(1).toModelIndex(), model.index(1, 2));
    QCOMPARE(changed.at(0).at(2).value<QList<int>>(), (QList<int>{Qt::DisplayRole, SortRole}));
}

// The query thread sends only what changed; the model applies an update only on top of the
// one it was made against.
void tst_ConsoleModels::updatesFromTheQueryThread()
{
    RowTableModel model({QStringLiteral("Name"), QStringLiteral("State"), QStringLiteral("Runs")});
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    TableDiffer differ;
    TableRows rows;
    for (int i = 0; i < 100; ++i)
        rows.append(
            row(QStringLiteral("w%1").arg(i, 3, 10, QLatin1Char('0')), QStringLiteral("idle"), i));
    const TableUpdate first = differ.update(rows);
    QVERIFY(first.isFull());
    QCOMPARE(first.added.size(), 100);
    QVERIFY(model.applyUpdate(first));
    QCOMPARE(model.rowCount(), 100);

    // Nothing changed: an empty update.
    const TableUpdate same = differ.update(rows);
    QVERIFY(same.isEmpty());
    QCOMPARE(same.baseVersion, first.version);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QVERIFY(model.applyUpdate(same));
    QCOMPARE(changed.count(), 0);

    // One state, one run count, one row gone, one new: only those travel.
    TableRows next = rows;
    next[10] = row(QStringLiteral("w010"), QStringLiteral("running"), 10);
    next[20] = row(QStringLiteral("w020"), QStringLiteral("idle"), 99);
    next.removeAt(30);
    next.append(row(QStringLiteral("x"), QStringLiteral("failed"), 0));
    const TableUpdate update = differ.update(next);
    QCOMPARE(update.removed, QStringList{QStringLiteral("w030")});
    QCOMPARE(update.added.size(), 1);
    QCOMPARE(update.changed.size(), 2);
    QCOMPARE(update.changed.at(0).key, QStringLiteral("w010"));
    QCOMPARE(update.changed.at(0).cells.size(), 1);
    QCOMPARE(update.changed.at(0).cells.at(0).column, 1);
    QCOMPARE(update.changed.at(0).cells.at(0).changes,
             int(DisplayChanged | SortChanged | DecorationChanged));
    QCOMPARE(update.rowCount, 100);
    QVERIFY(model.applyUpdate(update));
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(model.textAt(model.rowOf(QStringLiteral("w010")), 1), QStringLiteral("running"));
    QCOMPARE(model.textAt(model.rowOf(QStringLiteral("w020")), 2), QStringLiteral("99"));
    QCOMPARE(model.rowOf(QStringLiteral("w030")), -1);
    QVERIFY(model.rowOf(QStringLiteral("x")) >= 0);
    QCOMPARE(changed.count(), 2);
    QCOMPARE(changed.at(0).at(2).value<QList<int>>(),
             (QList<int>{Qt::DisplayRole, SortRole, Qt::DecorationRole}));
    QCOMPARE(changed.at(1).at(2).value<QList<int>>(), (QList<int>{Qt::DisplayRole, SortRole}));
    // What the model shows is what the query thread built.
    for (const TableRow &r : std::as_const(next))
        for (int c = 0; c < 3; ++c)
            QCOMPARE(model.textAt(model.rowOf(r.key), c), r.cells.at(c).text);

    // A model cleared meanwhile refuses the next update and changes nothing; the whole table
    // then puts it right.
    model.clear();
    next[0] = row(QStringLiteral("w000"), QStringLiteral("failed"), 0);
    const TableUpdate stale = differ.update(next);
    QVERIFY(!model.applyUpdate(stale));
    QCOMPARE(model.rowCount(), 0);
    differ.reset();
    const TableUpdate whole = differ.update(next);
    QVERIFY(whole.isFull());
    QVERIFY(whole.version > stale.version);
    QVERIFY(model.applyUpdate(whole));
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(model.version(), whole.version);

    // A countdown whose deadline stayed keeps the text its ticks gave it.
    TableRow lock = row(QStringLiteral("lock"), QStringLiteral("held"), 1);
    lock.cells[2].deadline = 1000000;
    lock.cells[2].text = QStringLiteral("10 s");
    RowTableModel locks({QStringLiteral("Name"), QStringLiteral("Status"), QStringLiteral("Left")});
    TableDiffer lockDiffer;
    QVERIFY(locks.applyUpdate(lockDiffer.update({lock})));
    locks.tick(1000000 - 4000);
    QCOMPARE(locks.textAt(0, 2), QStringLiteral("4 s"));
    lock.cells[2].text = QStringLiteral("9 s"); // built a moment later
    const TableUpdate ticking = lockDiffer.update({lock});
    QVERIFY(ticking.isEmpty());
    QVERIFY(locks.applyUpdate(ticking));
    QCOMPARE(locks.textAt(0, 2), QStringLiteral("4 s"));
}

void tst_ConsoleModels::insertsAndRemovesWithoutReset()
{
    RowTableModel model({QStringLiteral("Name"), QStringLiteral("State"), QStringLiteral("Runs")});
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    TableRows rows;
    for (int i = 0; i < 10; ++i)
        rows.append(row(QStringLiteral("w%1").arg(i), QStringLiteral("idle"), i));
    model.setRows(rows);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    // Remove w2, w3 (one run) and w7; add x1, x2.
    TableRows next;
    for (int i : {0, 1, 4, 5, 6, 8, 9})
        next.append(row(QStringLiteral("w%1").arg(i), QStringLiteral("idle"), i));
    next.append(row(QStringLiteral("x1"), QStringLiteral("idle"), 0));
    next.append(row(QStringLiteral("x2"), QStringLiteral("idle"), 0));
    model.setRows(next);
    QCOMPARE(reset.count(), 0);
    QCOMPARE(removed.count(), 2);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 7);
    QCOMPARE(inserted.at(0).at(2).toInt(), 8);
    QCOMPARE(keys(model),
             (QStringList{QStringLiteral("w0"), QStringLiteral("w1"), QStringLiteral("w4"),
                          QStringLiteral("w5"), QStringLiteral("w6"), QStringLiteral("w8"),
                          QStringLiteral("w9"), QStringLiteral("x1"), QStringLiteral("x2")}));
    QCOMPARE(model.rowOf(QStringLiteral("w8")), 5);
    QCOMPARE(model.rowOf(QStringLiteral("w3")), -1);
}

void tst_ConsoleModels::selectionAndSortSurviveRefresh()
{
    RowTableModel model({QStringLiteral("Name"), QStringLiteral("State"), QStringLiteral("Runs")});
    TableFilterProxy proxy;
    proxy.setSourceModel(&model);
    QTableView view;
    view.setModel(&proxy);
    view.setSortingEnabled(true);
    view.setSelectionBehavior(QAbstractItemView::SelectRows);
    view.sortByColumn(2, Qt::DescendingOrder);
    view.resize(400, 120);
    view.show();
    TableRows rows;
    for (int i = 0; i < 50; ++i)
        rows.append(
            row(QStringLiteral("w%1").arg(i, 2, 10, QLatin1Char('0')), QStringLiteral("idle"), i));
    model.setRows(rows);
    const QModelIndex target =
        proxy.mapFromSource(model.index(model.rowOf(QStringLiteral("w20")), 0));
    view.selectionModel()->setCurrentIndex(target, QItemSelectionModel::ClearAndSelect |
                                                       QItemSelectionModel::Rows);
    view.scrollTo(target, QAbstractItemView::PositionAtTop);
    const int scroll = view.verticalScrollBar()->value();
    QVERIFY(scroll > 0);

    // A refresh: some rows go, some come, counts change for others, w20 keeps its place.
    TableRows next;
    for (int i = 0; i < 50; ++i) {
        if (i == 3 || i == 45)
            continue;
        next.append(row(QStringLiteral("w%1").arg(i, 2, 10, QLatin1Char('0')),
                        i % 2 ? QStringLiteral("running") : QStringLiteral("idle"), i));
    }
    next.append(row(QStringLiteral("w99"), QStringLiteral("idle"), -1));
    model.setRows(next);
    const QModelIndexList selected = view.selectionModel()->selectedRows();
    QCOMPARE(selected.size(), 1);
    QCOMPARE(selected.first().data(KeyRole).toString(), QStringLiteral("w20"));
    QCOMPARE(view.currentIndex().data(KeyRole).toString(), QStringLiteral("w20"));
    QCOMPARE(view.horizontalHeader()->sortIndicatorSection(), 2);
    QCOMPARE(proxy.index(0, 0).data(KeyRole).toString(), QStringLiteral("w49"));
    QCOMPARE(proxy.index(proxy.rowCount() - 1, 0).data(KeyRole).toString(), QStringLiteral("w99"));
    // Rows above went away (w45), so the view may move by those; it keeps w20 in sight.
    QVERIFY(qAbs(view.verticalScrollBar()->value() - scroll) <= 1);
}

void tst_ConsoleModels::countdownTicks()
{
    RowTableModel model({QStringLiteral("Lock"), QStringLiteral("Left")});
    TableRow r;
    r.key = QStringLiteral("l");
    Cell name;
    name.text = QStringLiteral("l");
    Cell left;
    left.deadline = 100000;
    left.text = RowTableModel::formatCountdown(10000);
    r.cells = {name, left};
    model.setRows({r});
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.tick(100000 - 9000);
    QCOMPARE(model.index(0, 1).data().toString(), RowTableModel::formatCountdown(9000));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(2).value<QList<int>>(), QList<int>{Qt::DisplayRole});
    model.tick(100000 - 9000);
    QCOMPARE(changed.count(), 1);
    model.tick(100001);
    QCOMPARE(model.index(0, 1).data().toString(), RowTableModel::formatCountdown(0));
}

void tst_ConsoleModels::logModelTailAndTrim()
{
    LogModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester proxyTester(&proxy,
                                         QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setMaximumLines(100);
    QList<StoredLogLine> lines;
    for (int i = 1; i <= 80; ++i) {
        StoredLogLine l;
        l.id = i;
        l.line.time = QDateTime::currentDateTimeUtc();
        l.line.node = i % 2 ? QStringLiteral("a") : QStringLiteral("b");
        l.line.worker = QStringLiteral("w");
        l.line.message = QStringLiteral("line %1").arg(i);
        lines.append(l);
    }
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    model.appendLines(lines, true);
    QCOMPARE(model.rowCount(), 80);
    // Lines already there are not appended again; beyond the maximum the oldest go.
    model.appendLines(lines.mid(40), false);
    QCOMPARE(model.rowCount(), 80);
    QList<StoredLogLine> more;
    for (int i = 81; i <= 130; ++i) {
        StoredLogLine l = lines.first();
        l.id = i;
        l.line.message = QStringLiteral("line %1").arg(i);
        more.append(l);
    }
    model.appendLines(more, false);
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(model.lineAt(0).id, 31);
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(removed.count(), 1);
    model.appendLines({}, true);
    QCOMPARE(model.rowCount(), 0);
}

void tst_ConsoleModels::logFilters()
{
    LogModel model;
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    QList<StoredLogLine> lines;
    const QtMsgType levels[] = {QtDebugMsg, QtInfoMsg, QtWarningMsg, QtCriticalMsg};
    for (int i = 0; i < 40; ++i) {
        StoredLogLine l;
        l.id = i + 1;
        l.line.node = QStringLiteral("n%1").arg(i % 2);
        l.line.worker = QStringLiteral("w%1").arg(i % 4);
        l.line.level = levels[i % 4];
        l.line.message = i == 7 ? QStringLiteral("Disk FULL") : QStringLiteral("ok");
        lines.append(l);
    }
    model.appendLines(lines, true);
    proxy.setNode(QStringLiteral("n1"));
    QCOMPARE(proxy.rowCount(), 20);
    proxy.setWorker(QStringLiteral("w3"));
    QCOMPARE(proxy.rowCount(), 10);
    proxy.setMinimumLevel(3);
    QCOMPARE(proxy.rowCount(), 10); // w3 lines are critical
    proxy.setText(QStringLiteral("disk full"));
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.index(0, LogModel::Message).data().toString(), QStringLiteral("Disk FULL"));
}

void tst_ConsoleModels::cronNextFireTimes()
{
    RowBuilder builder;
    const QDateTime now(QDate(2025, 3, 1), QTime(10, 0), Qt::UTC);
    const auto times =
        builder.nextFireTimes(QStringLiteral("cron \"0 3 * * *\" Europe/Berlin"), {}, now, 3);
    QCOMPARE(times.size(), 3);
    QCOMPARE(times.at(0), QDateTime(QDate(2025, 3, 2), QTime(2, 0), Qt::UTC));
    QCOMPARE(times.at(2), QDateTime(QDate(2025, 3, 4), QTime(2, 0), Qt::UTC));
    // Not parseable: what the node reported stands in.
    const QDateTime reported = now.addSecs(30);
    QCOMPARE(builder.nextFireTimes(QStringLiteral("custom"), reported, now, 3),
             QList<QDateTime>{reported});
}

void tst_ConsoleModels::intervalNextFireTimes()
{
    RowBuilder builder;
    const QDateTime now(QDate(2025, 3, 1), QTime(10, 0), Qt::UTC);
    const auto times = builder.nextFireTimes(QStringLiteral("every 10m"), now.addSecs(120), now, 3);
    QCOMPARE(times, (QList<QDateTime>{now.addSecs(120), now.addSecs(720), now.addSecs(1320)}));
    // A stale report steps forward on the grid.
    const auto stale = builder.nextFireTimes(QStringLiteral("every 10s"), now.addSecs(-25), now, 2);
    QCOMPARE(stale, (QList<QDateTime>{now.addSecs(5), now.addSecs(15)}));
}

void tst_ConsoleModels::nodeHealthFollowsHeartbeatInterval()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    NodeInfo node;
    node.heartbeatIntervalMs = 1000;
    node.heartbeatAt = now.addMSecs(-500);
    QCOMPARE(RowBuilder::nodeHealth(node, now), RowBuilder::NodeHealth::Alive);
    node.heartbeatAt = now.addMSecs(-2500);
    QCOMPARE(RowBuilder::nodeHealth(node, now), RowBuilder::NodeHealth::Late);
    // Dead when the cluster counts it dead: three intervals, or the node's own threshold.
    node.heartbeatAt = now.addMSecs(-3000);
    QCOMPARE(RowBuilder::nodeHealth(node, now), RowBuilder::NodeHealth::Dead);
    node.deadAfterMs = 10000;
    QCOMPARE(RowBuilder::nodeHealth(node, now), RowBuilder::NodeHealth::Late);
    node.heartbeatAgeMs = 10000; // measured by the store: the store's age wins
    QCOMPARE(RowBuilder::nodeHealth(node, now), RowBuilder::NodeHealth::Dead);
    node.heartbeatAgeMs = -1;
    node.deadAfterMs = 0;
    node.heartbeatAt = now.addSecs(-60);
    QCOMPARE(RowBuilder::nodeHealth(node, now), RowBuilder::NodeHealth::Dead);
    node.heartbeatIntervalMs = 30000; // a slow heartbeat is not late after 5 s
    node.heartbeatAt = now.addMSecs(-5000);
    QCOMPARE(RowBuilder::nodeHealth(node, now), RowBuilder::NodeHealth::Alive);
}

void tst_ConsoleModels::workerRowsAggregateNodes()
{
    RowBuilder builder;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    WorkerStatus a;
    a.worker = QStringLiteral("job");
    a.node = QStringLiteral("a");
    a.state = WorkerState::Waiting;
    a.lockMode = LockMode::Leader;
    a.lockName = QStringLiteral("job");
    a.runCount = 3;
    a.failureCount = 1;
    WorkerStatus b = a;
    b.node = QStringLiteral("b");
    b.state = WorkerState::Running;
    b.runCount = 5;
    b.lastRunAt = now.addSecs(-3);
    b.lastOutcome = RunOutcome::Failed;
    b.lastDurationMs = 1500;
    WorkerSettings paused;
    paused.worker = QStringLiteral("job");
    paused.pausedUntil = now.addSecs(600);
    paused.reason = QStringLiteral("deploy");
    paused.changedBy = QStringLiteral("alice");
    WorkerSettings orphan;
    orphan.worker = QStringLiteral("gone");
    orphan.enabled = false;
    Lease lease;
    lease.name = QStringLiteral("job");
    lease.holder = QStringLiteral("b");
    lease.fencingToken = 7;
    lease.expiresAt = now.addSecs(10);
    const TableRows rows = builder.workerRows({a, b}, {paused, orphan}, {lease}, now);
    QCOMPARE(rows.size(), 2);
    const TableRow &job = rows.at(1);
    QCOMPARE(job.key, QStringLiteral("job"));
    QCOMPARE(job.detail, QStringLiteral("job"));
    auto text = [&](const TableRow &r, WorkerColumn c) { return r.cells.at(int(c)).text; };
    QCOMPARE(text(job, WorkerColumn::State), QStringLiteral("running"));
    QCOMPARE(job.cells.at(int(WorkerColumn::State)).icon, QStringLiteral("state-paused"));
    QVERIFY(text(job, WorkerColumn::Switch).startsWith(QStringLiteral("paused until")));
    QCOMPARE(text(job, WorkerColumn::Reason), QStringLiteral("deploy"));
    QVERIFY(text(job, WorkerColumn::ChangedBy).startsWith(QStringLiteral("alice")));
    QCOMPARE(text(job, WorkerColumn::LeaseHolder), QStringLiteral("b"));
    QCOMPARE(text(job, WorkerColumn::Outcome), QStringLiteral("failed"));
    QCOMPARE(text(job, WorkerColumn::Runs), QStringLiteral("8"));
    QCOMPARE(text(job, WorkerColumn::Failures), QStringLiteral("2"));
    QVERIFY(text(job, WorkerColumn::Nodes).contains(QStringLiteral("running on b")));
    const TableRow &gone = rows.at(0);
    QCOMPARE(text(gone, WorkerColumn::Switch), QStringLiteral("disabled"));
    QCOMPARE(text(gone, WorkerColumn::State), QStringLiteral("not running"));
}

QTEST_MAIN(tst_ConsoleModels)
#include "tst_consolemodels.moc"
