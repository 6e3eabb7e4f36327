#include "mainwindow.h"

#include "dialogs.h"
#include "historychart.h"
#include "icons.h"
#include "logmodel.h"
#include "rowtablemodel.h"
#include "rundialog.h"

#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QSaveFile>
#include <QtCore/QSettings>
#include <QtCore/QTimer>
#include <QtGui/QAction>
#include <QtGui/QClipboard>
#include <QtGui/QCloseEvent>
#include <QtGui/QGuiApplication>
#include <QtGui/QKeySequence>
#include <QtGui/QScreen>
#include <QtWidgets/QApplication>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QFrame>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QInputDialog>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QMenu>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QScrollBar>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>
#include <QtWidgets/QToolBar>
#include <QtWidgets/QToolButton>
#include <QtWidgets/QVBoxLayout>

namespace Warden::Console {

namespace {

const int recentLimit = 10;

QStringList workerHeaders()
{
    return {MainWindow::tr("Worker"),       MainWindow::tr("State"),
            MainWindow::tr("Nodes"),        MainWindow::tr("Switch"),
            MainWindow::tr("Schedule"),     MainWindow::tr("Next fire times"),
            MainWindow::tr("Lease holder"), MainWindow::tr("Last run"),
            MainWindow::tr("Outcome"),      MainWindow::tr("Duration"),
            MainWindow::tr("Late by"),      MainWindow::tr("Runs"),
            MainWindow::tr("Failures"),     MainWindow::tr("Reason"),
            MainWindow::tr("Changed by")};
}

} // namespace

MainWindow::MainWindow(Connector connector, QWidget *parent)
    : QMainWindow(parent)
    , m_hasOwnConnector(bool(connector))
{
    m_client = new ConsoleClient(std::move(connector), this);
    setWindowTitle(tr("Warden Console"));
    setWindowIcon(Icons::application());
    setObjectName(QStringLiteral("WardenConsole"));

    m_workerModel = new RowTableModel(workerHeaders(), this);
    m_lockModel = new RowTableModel({tr("Lock"), tr("Status"), tr("Holder"), tr("Fencing token"),
                                     tr("Acquired"), tr("Time left")},
                                    this);
    m_nodeModel = new RowTableModel({tr("Node"), tr("Status"), tr("Host"), tr("PID"), tr("Version"),
                                     tr("Started"), tr("Heartbeat"), tr("Clock offset")},
                                    this);
    m_runModel = new RowTableModel({tr("Started"), tr("Outcome"), tr("Duration"), tr("Late by"),
                                    tr("Node"), tr("Trigger"), tr("Fencing token"), tr("Error")},
                                   this);
    m_auditModel = new RowTableModel({tr("Time"), tr("User"), tr("Action"), tr("Target"),
                                      tr("Reason"), tr("Origin"), tr("Details")},
                                     this);
    m_logModel = new LogModel(this);
    m_workerProxy = new TableFilterProxy(this);
    m_lockProxy = new TableFilterProxy(this);
    m_nodeProxy = new TableFilterProxy(this);
    m_runProxy = new TableFilterProxy(this);
    m_auditProxy = new TableFilterProxy(this);
    m_logProxy = new LogFilterProxy(this);
    m_workerProxy->setSourceModel(m_workerModel);
    m_lockProxy->setSourceModel(m_lockModel);
    m_nodeProxy->setSourceModel(m_nodeModel);
    m_runProxy->setSourceModel(m_runModel);
    m_auditProxy->setSourceModel(m_auditModel);
    m_logProxy->setSourceModel(m_logModel);

    buildActions();

    auto *central = new QWidget;
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    m_banner = new QFrame;
    m_banner->setObjectName(QStringLiteral("banner"));
    m_banner->setStyleSheet(
        QStringLiteral("#banner { background: #fce8e6; border-bottom: 1px solid #d93025; } "
                       "#banner QLabel { color: #8c1d18; }"));
    auto *bannerLayout = new QHBoxLayout(m_banner);
    auto *bannerIcon = new QLabel;
    bannerIcon->setPixmap(Icons::icon(QStringLiteral("node-dead")).pixmap(16, 16));
    m_bannerText = new QLabel;
    m_bannerText->setWordWrap(true);
    m_bannerText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *retry = new QPushButton(tr("Retry &now"));
    connect(retry, &QPushButton::clicked, m_client, &ConsoleClient::refreshNow);
    bannerLayout->addWidget(bannerIcon);
    bannerLayout->addWidget(m_bannerText, 1);
    bannerLayout->addWidget(retry);
    m_banner->hide();
    layout->addWidget(m_banner);

    m_tabs = new QTabWidget;
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(buildWorkersPage(), Icons::icon(QStringLiteral("state-running")),
                   tr("&Workers"));
    m_tabs->addTab(buildTablePage(m_lockModel, m_lockProxy, &m_lockView,
                                  tr("Filter locks (name, holder, status)"), &m_lockFilter),
                   Icons::icon(QStringLiteral("lock-held")), tr("&Locks"));
    m_tabs->addTab(buildTablePage(m_nodeModel, m_nodeProxy, &m_nodeView,
                                  tr("Filter nodes (id, host, status)"), &m_nodeFilter),
                   Icons::icon(QStringLiteral("node-alive")), tr("&Nodes"));
    m_tabs->addTab(buildLogPage(), Icons::icon(QStringLiteral("action-follow")), tr("L&og"));
    m_tabs->addTab(buildTablePage(m_auditModel, m_auditProxy, &m_auditView,
                                  tr("Filter the audit trail (user, action, target, reason)"),
                                  &m_auditFilter),
                   Icons::icon(QStringLiteral("action-enable")), tr("&Audit"));
    layout->addWidget(m_tabs, 1);
    setCentralWidget(central);
    m_lockView->sortByColumn(int(LockColumn::Name), Qt::AscendingOrder);
    m_nodeView->sortByColumn(int(NodeColumn::Id), Qt::AscendingOrder);
    m_auditView->sortByColumn(int(AuditColumn::Time), Qt::DescendingOrder);
    m_lockView->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_lockView->addAction(action(QStringLiteral("release")));
    connect(m_lockView->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &MainWindow::updateActions);
    connect(m_tabs, &QTabWidget::currentChanged, this, &MainWindow::updateActions);

    m_connectionLabel = new QLabel(tr("Not connected"));
    m_refreshLabel = new QLabel;
    m_countsLabel = new QLabel;
    m_hostLabel = new QLabel;
    m_hostLabel->setObjectName(QStringLiteral("hostStatus"));
    m_hostLabel->hide();
    statusBar()->addWidget(m_connectionLabel, 1);
    statusBar()->addPermanentWidget(m_hostLabel);
    statusBar()->addPermanentWidget(m_countsLabel);
    statusBar()->addPermanentWidget(m_refreshLabel);

    connect(m_client, &ConsoleClient::snapshotReady, this, &MainWindow::applySnapshot);
    connect(m_client, &ConsoleClient::logLinesReady, this, &MainWindow::applyLog);
    connect(m_client, &ConsoleClient::historyReady, this, &MainWindow::applyHistory);
    connect(m_client, &ConsoleClient::runDetailsReady, this, &MainWindow::showRun);
    connect(m_client, &ConsoleClient::connectionStateChanged, this, &MainWindow::onConnectionState);
    connect(m_client, &ConsoleClient::actionFinished, this, &MainWindow::onActionFinished);

    m_ticker = new QTimer(this);
    m_ticker->setInterval(1000);
    connect(m_ticker, &QTimer::timeout, this, &MainWindow::tick);
    m_ticker->start();
    m_logDrain = new QTimer(this);
    m_logDrain->setSingleShot(true);
    m_logDrain->setInterval(0);
    connect(m_logDrain, &QTimer::timeout, this, &MainWindow::drainLog);

    resize(1200, 760);
    restoreSettings();
    updateActions();
    action(QStringLiteral("reloadHost"))->setEnabled(false);
}

MainWindow::~MainWindow() = default;

QAction *MainWindow::action(const QString &name) const
{
    return m_actions.value(name);
}

void MainWindow::buildActions()
{
    auto add = [this](const QString &name, const QString &icon, const QString &text,
                      const QKeySequence &shortcut, const QString &tip, auto slot) {
        auto *a = new QAction(icon.isEmpty() ? QIcon() : Icons::icon(icon), text, this);
        a->setObjectName(name);
        if (!shortcut.isEmpty())
            a->setShortcut(shortcut);
        a->setToolTip(shortcut.isEmpty()
                          ? tip
                          : tr("%1 (%2)").arg(tip, shortcut.toString(QKeySequence::NativeText)));
        a->setStatusTip(tip);
        connect(a, &QAction::triggered, this, slot);
        m_actions.insert(name, a);
        return a;
    };
    add(QStringLiteral("open"), QStringLiteral("action-connect"), tr("&Open store…"),
        QKeySequence::Open, tr("Open a store: an SQLite file or a PostgreSQL URL"),
        &MainWindow::showConnectDialog);
    add(QStringLiteral("refresh"), QStringLiteral("action-refresh"), tr("&Refresh"),
        QKeySequence(Qt::Key_F5), tr("Refresh now"), [this] { m_client->refreshNow(); });
    add(QStringLiteral("enable"), QStringLiteral("action-enable"), tr("&Enable"),
        QKeySequence(Qt::CTRL | Qt::Key_E), tr("Enable the selected worker on every node"),
        &MainWindow::enableSelected);
    add(QStringLiteral("disable"), QStringLiteral("action-disable"), tr("&Disable…"),
        QKeySequence(Qt::CTRL | Qt::Key_D), tr("Disable the selected worker, with a reason"),
        &MainWindow::disableSelected);
    add(QStringLiteral("pause"), QStringLiteral("action-pause"), tr("&Pause…"),
        QKeySequence(Qt::CTRL | Qt::Key_P), tr("Pause the selected worker until a time"),
        &MainWindow::pauseSelected);
    add(QStringLiteral("trigger"), QStringLiteral("action-run"), tr("Run &now"),
        QKeySequence(Qt::CTRL | Qt::Key_R), tr("Run the selected worker once, now"),
        &MainWindow::runSelectedNow);
    add(QStringLiteral("release"), QStringLiteral("action-release"), tr("Force-&release lease…"),
        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L),
        tr("Take the selected lease away from its holder"), &MainWindow::releaseSelected);
    auto *follow =
        add(QStringLiteral("follow"), QStringLiteral("action-follow"), tr("&Follow the log"),
            QKeySequence(Qt::CTRL | Qt::Key_End), tr("Keep the newest log line in view"),
            [this](bool on) { setFollowLog(on); });
    follow->setCheckable(true);
    follow->setChecked(true);
    add(QStringLiteral("copy"), QString(), tr("&Copy log lines"), QKeySequence::Copy,
        tr("Copy the selected log lines"), &MainWindow::copyLogSelection);
    add(QStringLiteral("export"), QString(), tr("E&xport log…"), QKeySequence::Save,
        tr("Save the filtered log lines to a file"), &MainWindow::exportLog);
    add(QStringLiteral("find"), QString(), tr("&Find"), QKeySequence::Find,
        tr("Filter the current view"), [this] {
            QLineEdit *filters[] = {m_workerFilter, m_lockFilter, m_nodeFilter, m_logText,
                                    m_auditFilter};
            if (QLineEdit *f = filters[m_tabs->currentIndex()]) {
                f->setFocus();
                f->selectAll();
            }
        });
    add(QStringLiteral("reloadHost"), QStringLiteral("action-refresh"), tr("Re&load hosted config"),
        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R),
        tr("Read the hosted workers' config again: added workers start, removed ones stop"),
        [this] {
            if (m_host)
                m_host->reload();
        });
    add(QStringLiteral("quit"), QString(), tr("&Quit"), QKeySequence::Quit, tr("Quit"),
        &QWidget::close);

    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(action(QStringLiteral("open")));
    file->addAction(action(QStringLiteral("export")));
    file->addAction(action(QStringLiteral("reloadHost")));
    file->addSeparator();
    file->addAction(action(QStringLiteral("quit")));
    QMenu *workerMenu = menuBar()->addMenu(tr("&Worker"));
    for (const char *name : {"enable", "disable", "pause", "trigger", "release"})
        workerMenu->addAction(action(QString::fromLatin1(name)));
    QMenu *viewMenu = menuBar()->addMenu(tr("&View"));
    viewMenu->addAction(action(QStringLiteral("refresh")));
    viewMenu->addAction(action(QStringLiteral("find")));
    viewMenu->addAction(action(QStringLiteral("follow")));
    viewMenu->addAction(action(QStringLiteral("copy")));
    viewMenu->addSeparator();
    const QStringList viewNames{tr("Workers"), tr("Locks"), tr("Nodes"), tr("Log"), tr("Audit")};
    for (int i = 0; i < viewNames.size(); ++i) {
        auto *a = viewMenu->addAction(viewNames.at(i));
        a->setShortcut(QKeySequence(Qt::ALT | Qt::Key(Qt::Key_1 + i)));
        connect(a, &QAction::triggered, this, [this, i] { m_tabs->setCurrentIndex(i); });
    }

    QToolBar *bar = addToolBar(tr("Actions"));
    bar->setObjectName(QStringLiteral("actions"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->setIconSize(QSize(16, 16));
    bar->addAction(action(QStringLiteral("open")));
    bar->addAction(action(QStringLiteral("refresh")));
    bar->addSeparator();
    for (const char *name : {"enable", "disable", "pause", "trigger", "release"})
        bar->addAction(action(QString::fromLatin1(name)));
}

QTableView *MainWindow::makeTable(QAbstractItemModel *model)
{
    auto *view = new QTableView;
    view->setModel(model);
    view->setSortingEnabled(true);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->setTextElideMode(Qt::ElideRight);
    view->verticalHeader()->hide();
    view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setSectionsMovable(true);
    view->horizontalHeader()->setDefaultSectionSize(110);
    view->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    return view;
}

QWidget *MainWindow::buildWorkersPage()
{
    auto *page = new QWidget;
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(6, 6, 6, 0);
    auto *filters = new QHBoxLayout;
    m_workerFilter = new QLineEdit;
    m_workerFilter->setClearButtonEnabled(true);
    m_workerFilter->setPlaceholderText(tr("Filter workers (name, node, schedule, reason…)"));
    m_stateFilter = new QComboBox;
    m_stateFilter->addItem(tr("All states"), QStringList());
    m_stateFilter->addItem(Icons::icon(QStringLiteral("state-running")), tr("Running"),
                           QStringList{QStringLiteral("running")});
    m_stateFilter->addItem(Icons::icon(QStringLiteral("state-failed")), tr("Failed"),
                           QStringList{QStringLiteral("failed")});
    m_stateFilter->addItem(Icons::icon(QStringLiteral("state-idle")), tr("Idle"),
                           QStringList{QStringLiteral("idle")});
    m_stateFilter->addItem(Icons::icon(QStringLiteral("state-waiting")), tr("Waiting (standby)"),
                           QStringList{QStringLiteral("waiting")});
    m_stateFilter->addItem(Icons::icon(QStringLiteral("state-disabled")), tr("Disabled or paused"),
                           QStringList{QStringLiteral("disabled"), QStringLiteral("paused")});
    m_stateFilter->addItem(Icons::icon(QStringLiteral("outcome-failed")), tr("Last run failed"),
                           failureKeywords());
    filters->addWidget(m_workerFilter, 1);
    filters->addWidget(m_stateFilter);
    layout->addLayout(filters);
    connect(m_workerFilter, &QLineEdit::textChanged, m_workerProxy, &TableFilterProxy::setText);
    connect(m_stateFilter, &QComboBox::currentIndexChanged, this, [this](int index) {
        const QStringList values = m_stateFilter->itemData(index).toStringList();
        int column = int(WorkerColumn::State);
        if (index == 5)
            column = int(WorkerColumn::Switch);
        else if (index == 6)
            column = int(WorkerColumn::Outcome);
        m_workerProxy->setColumnFilter(column, values);
    });

    m_workerView = makeTable(m_workerProxy);
    m_workerView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_workerView->sortByColumn(int(WorkerColumn::Name), Qt::AscendingOrder);
    m_workerView->setContextMenuPolicy(Qt::ActionsContextMenu);
    for (const char *name : {"enable", "disable", "pause", "trigger", "release"})
        m_workerView->addAction(action(QString::fromLatin1(name)));
    const QList<int> widths{150, 80, 130, 110, 110, 160, 90, 70, 90, 70, 60, 50, 65, 120, 120};
    for (int i = 0; i < widths.size(); ++i)
        m_workerView->setColumnWidth(i, widths.at(i));
    connect(m_workerView->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &MainWindow::onWorkerSelectionChanged);
    connect(m_workerView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::onWorkerSelectionChanged);

    m_runView = makeTable(m_runProxy);
    m_runView->sortByColumn(int(RunColumn::Started), Qt::DescendingOrder);
    m_runView->setToolTip(tr("Double-click a run (or press Enter) for its details and log."));
    connect(m_runView, &QAbstractItemView::activated, this, &MainWindow::openRun);
    connect(m_runView, &QAbstractItemView::doubleClicked, this, &MainWindow::openRun);
    m_chart = new HistoryChart;
    m_historySplitter = new QSplitter(Qt::Horizontal);
    m_historySplitter->addWidget(m_runView);
    m_historySplitter->addWidget(m_chart);
    m_historySplitter->setStretchFactor(0, 3);
    m_historySplitter->setStretchFactor(1, 2);
    m_workerSplitter = new QSplitter(Qt::Vertical);
    m_workerSplitter->addWidget(m_workerView);
    m_workerSplitter->addWidget(m_historySplitter);
    m_workerSplitter->setStretchFactor(0, 3);
    m_workerSplitter->setStretchFactor(1, 2);
    layout->addWidget(m_workerSplitter, 1);
    return page;
}

QWidget *MainWindow::buildTablePage(RowTableModel *, TableFilterProxy *proxy, QTableView **view,
                                    const QString &filterPlaceholder, QLineEdit **filter)
{
    auto *page = new QWidget;
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(6, 6, 6, 0);
    *filter = new QLineEdit;
    (*filter)->setClearButtonEnabled(true);
    (*filter)->setPlaceholderText(filterPlaceholder);
    connect(*filter, &QLineEdit::textChanged, proxy, &TableFilterProxy::setText);
    layout->addWidget(*filter);
    *view = makeTable(proxy);
    (*view)->horizontalHeader()->setDefaultSectionSize(150);
    layout->addWidget(*view, 1);
    return page;
}

QWidget *MainWindow::buildLogPage()
{
    auto *page = new QWidget;
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(6, 6, 6, 0);
    auto *filters = new QHBoxLayout;
    m_logNode = new QComboBox;
    m_logNode->setEditable(true);
    m_logNode->lineEdit()->setPlaceholderText(tr("any node"));
    m_logNode->setMinimumContentsLength(12);
    m_logWorker = new QComboBox;
    m_logWorker->setEditable(true);
    m_logWorker->lineEdit()->setPlaceholderText(tr("any worker"));
    m_logWorker->setMinimumContentsLength(16);
    m_logLevel = new QComboBox;
    m_logLevel->addItems({tr("debug and above"), tr("info and above"), tr("warnings and above"),
                          tr("critical only")});
    m_logText = new QLineEdit;
    m_logText->setClearButtonEnabled(true);
    m_logText->setPlaceholderText(tr("Filter the log text"));
    m_followButton = new QToolButton;
    m_followButton->setDefaultAction(action(QStringLiteral("follow")));
    m_followButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    auto *exportButton = new QToolButton;
    exportButton->setDefaultAction(action(QStringLiteral("export")));
    filters->addWidget(new QLabel(tr("Node:")));
    filters->addWidget(m_logNode);
    filters->addWidget(new QLabel(tr("Worker:")));
    filters->addWidget(m_logWorker);
    filters->addWidget(m_logLevel);
    filters->addWidget(m_logText, 1);
    filters->addWidget(m_followButton);
    filters->addWidget(exportButton);
    layout->addLayout(filters);
    // The proxy filters the lines loaded at once; a moment later (so that typing does not
    // query on every key) the query thread loads the newest matching lines, however old.
    m_logFilterDelay = new QTimer(this);
    m_logFilterDelay->setSingleShot(true);
    m_logFilterDelay->setInterval(300);
    connect(m_logFilterDelay, &QTimer::timeout, this, &MainWindow::sendLogFilter);
    connect(m_logNode, &QComboBox::currentTextChanged, m_logProxy, [this](const QString &t) {
        m_logProxy->setNode(t.trimmed());
        m_logFilterDelay->start();
    });
    connect(m_logWorker, &QComboBox::currentTextChanged, m_logProxy, [this](const QString &t) {
        m_logProxy->setWorker(t.trimmed());
        m_logFilterDelay->start();
    });
    connect(m_logLevel, &QComboBox::currentIndexChanged, m_logProxy, [this](int index) {
        m_logProxy->setMinimumLevel(index);
        m_logFilterDelay->start();
    });
    connect(m_logText, &QLineEdit::textChanged, m_logProxy, [this](const QString &text) {
        m_logProxy->setText(text);
        m_logFilterDelay->start();
    });

    m_logView = makeTable(m_logProxy);
    m_logView->setSortingEnabled(false);
    m_logProxy->sort(-1); // a tail: oldest first, as the store gives it
    m_logView->horizontalHeader()->setSortIndicatorShown(false);
    m_logView->setColumnWidth(LogModel::Time, 170);
    m_logView->setColumnWidth(LogModel::Level, 85);
    m_logView->setColumnWidth(LogModel::Node, 110);
    m_logView->setColumnWidth(LogModel::Worker, 150);
    m_logView->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_logView->addAction(action(QStringLiteral("copy")));
    m_logView->addAction(action(QStringLiteral("export")));
    m_logView->addAction(action(QStringLiteral("follow")));
    QScrollBar *bar = m_logView->verticalScrollBar();
    // Reading stops the tail; scrolling back to the bottom (or "Follow") resumes it.
    connect(bar, &QScrollBar::valueChanged, this, [this, bar](int value) {
        if (m_scrollingLog)
            return;
        setFollowLog(value >= bar->maximum());
    });
    connect(m_logProxy, &QAbstractItemModel::rowsInserted, this, [this] {
        if (m_followLog) {
            m_scrollingLog = true;
            m_logView->scrollToBottom();
            m_scrollingLog = false;
        }
    });
    layout->addWidget(m_logView, 1);
    return page;
}

void MainWindow::openStore(const QString &url, const QString &password)
{
    m_password = password;
    m_passwordAsked = !password.isEmpty();
    m_workerModel->clear();
    m_lockModel->clear();
    m_nodeModel->clear();
    m_runModel->clear();
    m_auditModel->clear();
    m_chart->setRuns(QString(), {});
    sendLogFilter();
    m_client->connectTo(url, password);
    m_client->setSelectedWorker(selectedWorker());
    QSettings settings;
    QStringList recent = settings.value(QStringLiteral("connections/recent")).toStringList();
    const QString remembered = ConnectDialog::withoutPassword(url);
    recent.removeAll(remembered);
    recent.prepend(remembered);
    while (recent.size() > recentLimit)
        recent.removeLast();
    settings.setValue(QStringLiteral("connections/recent"), recent);
}

void MainWindow::startHost(const Config &config, const QString &databaseOverride)
{
    if (m_host && m_host->isActive()) {
        qWarning("Warden::Console::MainWindow::startHost: the console hosts workers already");
        return;
    }
    if (!m_host) {
        m_host = new ConsoleHost(this);
        connect(m_host, &ConsoleHost::stateChanged, this, &MainWindow::onHostState);
        connect(m_host, &ConsoleHost::workersChanged, this,
                [this] { onHostState(m_host->state(), QString()); });
        connect(m_host, &ConsoleHost::reloaded, this, [this](bool ok, const QString &message) {
            if (ok) {
                statusBar()->showMessage(message, 15000);
                m_client->refreshNow();
                return;
            }
            auto *box = new QMessageBox(QMessageBox::Warning, tr("Reload refused"),
                                        tr("The config was not reloaded; the hosted workers "
                                           "keep running as they were."),
                                        QMessageBox::Ok, this);
            box->setDetailedText(message);
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
        });
    }
    m_host->start(config, databaseOverride);
}

void MainWindow::onHostState(ConsoleHost::State state, const QString &message)
{
    m_hostLabel->show();
    m_hostLabel->setToolTip(tr("Config: %1\nDatabase: %2")
                                .arg(QDir::toNativeSeparators(m_host->configPath()),
                                     ConnectDialog::withoutPassword(m_host->databaseUrl())));
    switch (state) {
    case ConsoleHost::State::Starting:
        m_hostLabel->setText(tr("Starting the hosted workers…"));
        break;
    case ConsoleHost::State::Running:
        m_hostLabel->setText(
            tr("Hosting %n worker(s) as %1", nullptr, int(m_host->workerNames().size()))
                .arg(m_host->nodeId()));
        // The console reads the hosted workers from their store, like any node's.
        if (m_client->url() != m_host->databaseUrl()) {
            if (!m_hasOwnConnector)
                m_client->setConnector(databaseConnector(m_host->databaseOptions()));
            openStore(m_host->databaseUrl());
        }
        break;
    case ConsoleHost::State::Stopping:
        m_hostLabel->setText(
            tr("Stopping the hosted workers (up to %1)…")
                .arg(RowBuilder::formatDuration(qint64(m_host->shutdownTimeout().count()))));
        break;
    case ConsoleHost::State::Stopped:
        m_hostLabel->setText(tr("Hosted workers stopped"));
        break;
    case ConsoleHost::State::Failed: {
        m_hostLabel->setText(tr("Hosted workers failed to start"));
        auto *box =
            new QMessageBox(QMessageBox::Critical, tr("Cannot host the workers"),
                            tr("The workers of %1 did not start:\n%2")
                                .arg(QDir::toNativeSeparators(m_host->configPath()), message),
                            QMessageBox::Ok, this);
        box->setObjectName(QStringLiteral("hostFailure"));
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
        break;
    }
    }
    action(QStringLiteral("reloadHost"))->setEnabled(state == ConsoleHost::State::Running);
    if (m_closeWhenHostStopped && !m_host->isActive())
        QTimer::singleShot(0, this, &QWidget::close);
}

void MainWindow::showConnectDialog()
{
    if (m_openDialog)
        return;
    QSettings settings;
    auto *dialog = new ConnectDialog(
        settings.value(QStringLiteral("connections/recent")).toStringList(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!m_client->url().isEmpty())
        dialog->setUrl(ConnectDialog::withoutPassword(m_client->url()));
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        if (!dialog->url().isEmpty())
            openStore(dialog->url(), dialog->password());
    });
    m_openDialog = dialog;
    dialog->open();
}

void MainWindow::sendLogFilter()
{
    m_logFilterDelay->stop();
    static const QtMsgType levels[] = {QtDebugMsg, QtInfoMsg, QtWarningMsg, QtCriticalMsg};
    LogQuery filter;
    filter.node = m_logNode->currentText().trimmed();
    filter.worker = m_logWorker->currentText().trimmed();
    filter.text = m_logText->text();
    filter.minimumLevel = levels[qBound(0, m_logLevel->currentIndex(), 3)];
    m_client->setLogFilter(filter);
}

void MainWindow::askPassword(const QString &url)
{
    auto *dialog = new QInputDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Password"));
    dialog->setLabelText(
        tr("Password for %1\n(kept in memory only):").arg(m_client->description()));
    dialog->setTextEchoMode(QLineEdit::Password);
    connect(dialog, &QInputDialog::textValueSelected, this,
            [this, url](const QString &password) { openStore(url, password); });
    m_openDialog = dialog;
    dialog->open();
}

void MainWindow::setView(View view)
{
    m_tabs->setCurrentIndex(int(view));
}

MainWindow::View MainWindow::view() const
{
    return View(m_tabs->currentIndex());
}

bool MainWindow::selectWorker(const QString &name)
{
    const int row = m_workerModel->rowOf(name);
    if (row < 0)
        return false;
    const QModelIndex index = m_workerProxy->mapFromSource(m_workerModel->index(row, 0));
    if (!index.isValid())
        return false;
    m_workerView->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect |
                                                               QItemSelectionModel::Rows);
    m_workerView->scrollTo(index);
    return true;
}

QString MainWindow::selectedWorker() const
{
    const QModelIndexList rows = m_workerView->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : rows.first().data(KeyRole).toString();
}

bool MainWindow::selectLock(const QString &name)
{
    const int row = m_lockModel->rowOf(name);
    if (row < 0)
        return false;
    const QModelIndex index = m_lockProxy->mapFromSource(m_lockModel->index(row, 0));
    m_lockView->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect |
                                                             QItemSelectionModel::Rows);
    return index.isValid();
}

QString MainWindow::selectedLock() const
{
    if (view() == View::Locks) {
        const QModelIndexList rows = m_lockView->selectionModel()->selectedRows();
        return rows.isEmpty() ? QString() : rows.first().data(KeyRole).toString();
    }
    const QModelIndexList rows = m_workerView->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : rows.first().data(DetailRole).toString();
}

bool MainWindow::isBannerVisible() const
{
    return !m_banner->isHidden();
}

void MainWindow::updateActions()
{
    const bool connected = m_client->state() == ConnectionState::Connected;
    const QString worker = selectedWorker();
    const bool onWorkers = view() == View::Workers;
    const bool haveWorker = connected && onWorkers && !worker.isEmpty();
    QString switchText;
    if (!worker.isEmpty()) {
        const int row = m_workerModel->rowOf(worker);
        switchText = m_workerModel->index(row, int(WorkerColumn::Switch)).data(SortRole).toString();
    }
    action(QStringLiteral("enable"))->setEnabled(haveWorker);
    action(QStringLiteral("disable"))->setEnabled(haveWorker);
    action(QStringLiteral("pause"))->setEnabled(haveWorker);
    action(QStringLiteral("trigger"))->setEnabled(haveWorker);
    const QString lock = selectedLock();
    action(QStringLiteral("release"))
        ->setEnabled(connected && !lock.isEmpty() && (onWorkers || view() == View::Locks));
    const bool onLog = view() == View::Log;
    action(QStringLiteral("copy"))->setEnabled(onLog);
    action(QStringLiteral("export"))->setEnabled(onLog);
}

void MainWindow::onWorkerSelectionChanged()
{
    const QString worker = selectedWorker();
    if (worker != m_chart->property("worker").toString()) {
        m_chart->setProperty("worker", worker);
        m_runModel->clear();
        m_chart->setRuns(worker, {});
        m_client->setSelectedWorker(worker);
    }
    updateActions();
}

void MainWindow::enableSelected()
{
    const QString worker = selectedWorker();
    if (!worker.isEmpty())
        m_client->enableWorker(worker);
}

void MainWindow::disableSelected()
{
    const QString worker = selectedWorker();
    if (worker.isEmpty())
        return;
    auto *dialog = new DisableDialog(worker, DisableDialog::Mode::Disable, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        m_client->disableWorker(dialog->worker(), dialog->reason(), dialog->until());
    });
    dialog->open();
}

void MainWindow::pauseSelected()
{
    const QString worker = selectedWorker();
    if (worker.isEmpty())
        return;
    auto *dialog = new DisableDialog(worker, DisableDialog::Mode::Pause, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        m_client->disableWorker(dialog->worker(), dialog->reason(), dialog->until());
    });
    dialog->open();
}

void MainWindow::runSelectedNow()
{
    const QString worker = selectedWorker();
    if (!worker.isEmpty())
        m_client->triggerWorker(worker);
}

void MainWindow::releaseSelected()
{
    const QString lock = selectedLock();
    if (lock.isEmpty())
        return;
    QString holder;
    QString token;
    const int row = m_lockModel->rowOf(lock);
    if (row >= 0) {
        holder = m_lockModel->detailAt(row);
        token = m_lockModel->textAt(row, int(LockColumn::Token));
    }
    auto *box = new QMessageBox(
        QMessageBox::Warning, tr("Force-release %1").arg(lock),
        holder.isEmpty()
            ? tr("Nobody holds the lease %1 now. Release it anyway?").arg(lock)
            : tr("Take the lease %1 away from %2 (fencing token %3)?").arg(lock, holder, token),
        QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("releaseConfirmation"));
    box->setInformativeText(tr("The holder fences itself when it next renews; another node may "
                               "take over at once. Use this for a stuck lease only."));
    QPushButton *release = box->addButton(tr("&Release"), QMessageBox::DestructiveRole);
    box->setDefaultButton(QMessageBox::Cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::buttonClicked, this, [this, box, release, lock](QAbstractButton *b) {
        if (b == release)
            m_client->releaseLock(lock, tr("force-released from the console"));
        Q_UNUSED(box);
    });
    box->open();
}

void MainWindow::setFollowLog(bool follow)
{
    if (m_followLog != follow) {
        m_followLog = follow;
        action(QStringLiteral("follow"))->setChecked(follow);
    }
    if (follow) {
        m_scrollingLog = true;
        m_logView->scrollToBottom();
        m_scrollingLog = false;
    }
}

void MainWindow::copyLogSelection()
{
    QModelIndexList rows = m_logView->selectionModel()->selectedRows();
    std::sort(rows.begin(), rows.end());
    QStringList lines;
    for (const QModelIndex &index : rows)
        lines.append(LogModel::toText(m_logModel->lineAt(m_logProxy->mapToSource(index).row())));
    if (!lines.isEmpty())
        QGuiApplication::clipboard()->setText(lines.join(QLatin1Char('\n')) + QLatin1Char('\n'));
}

void MainWindow::exportLog()
{
    auto *picker = new QFileDialog(this, tr("Export the log"), QStringLiteral("warden-log.tsv"),
                                   tr("Tab-separated text (*.tsv *.txt);;All files (*)"));
    picker->setAttribute(Qt::WA_DeleteOnClose);
    picker->setAcceptMode(QFileDialog::AcceptSave);
    connect(picker, &QFileDialog::fileSelected, this, [this](const QString &file) {
        QSaveFile out(file);
        if (!out.open(QIODevice::WriteOnly | QIODevice::Text)) {
            statusBar()->showMessage(tr("Cannot write %1: %2").arg(file, out.errorString()), 10000);
            return;
        }
        const int rows = m_logProxy->rowCount();
        for (int r = 0; r < rows; ++r) {
            const int source = m_logProxy->mapToSource(m_logProxy->index(r, 0)).row();
            out.write(LogModel::toText(m_logModel->lineAt(source)).toUtf8());
            out.write("\n");
        }
        if (out.commit())
            statusBar()->showMessage(tr("Exported %n log lines to %1", nullptr, rows).arg(file),
                                     10000);
        else
            statusBar()->showMessage(tr("Cannot write %1: %2").arg(file, out.errorString()), 10000);
    });
    picker->open();
}

void MainWindow::applySnapshot(const ClusterSnapshot &snapshot)
{
    QElapsedTimer timer;
    timer.start();
    // The query thread worked out what changed; the models apply just that.
    bool inStep = m_workerModel->applyUpdate(snapshot.workers);
    inStep = m_lockModel->applyUpdate(snapshot.locks) && inStep;
    inStep = m_nodeModel->applyUpdate(snapshot.nodes) && inStep;
    inStep = m_auditModel->applyUpdate(snapshot.audit) && inStep;
    if (!inStep)
        m_client->requestFullTables(); // a model was cleared since: start over
    const QString updated =
        tr("updated %1 (%2 ms)")
            .arg(snapshot.takenAt.toLocalTime().toString(QStringLiteral("HH:mm:ss")))
            .arg(snapshot.queryMs);
    if (m_refreshLabel->text() != updated)
        m_refreshLabel->setText(updated);
    const int workers = m_workerModel->rowCount();
    const int nodes = m_nodeModel->rowCount();
    const QString counts = tr("%1 workers, %2 running, %3 failed · %4 of %5 nodes alive")
                               .arg(workers)
                               .arg(snapshot.runningWorkers)
                               .arg(snapshot.failedWorkers)
                               .arg(snapshot.aliveNodes)
                               .arg(nodes);
    if (m_countsLabel->text() != counts)
        m_countsLabel->setText(counts);
    // Offer the known nodes and workers in the log filters (cheap: only when the count changes).
    auto offer = [](QComboBox *box, const RowTableModel *model) {
        if (box->count() == model->rowCount() + 1)
            return;
        const QString current = box->currentText();
        QStringList keys;
        keys.reserve(model->rowCount());
        for (int r = 0; r < model->rowCount(); ++r)
            keys.append(model->keyAt(r));
        keys.sort();
        QSignalBlocker block(box);
        box->clear();
        box->addItem(QString());
        box->addItems(keys);
        box->setCurrentText(current);
    };
    offer(m_logNode, m_nodeModel);
    offer(m_logWorker, m_workerModel);
    updateActions();
    Q_EMIT snapshotApplied(timer.nsecsElapsed());
    if (!m_screenshotDirectory.isEmpty() && !m_screenshotStarted) {
        m_screenshotStarted = true;
        QTimer::singleShot(m_screenshotSettleMs, this, &MainWindow::nextScreenshot);
    }
}

void MainWindow::applyLog(const QList<StoredLogLine> &lines, bool reset)
{
    // Lines reach the model in slices, one per event-loop pass, so that a large tail never
    // holds up the event loop.
    if (reset) {
        m_pendingLog.clear();
        m_logModel->appendLines({}, true);
    }
    m_pendingLog.append(lines);
    const int excess = int(m_pendingLog.size()) - m_logModel->maximumLines();
    if (excess > 0)
        m_pendingLog.remove(0, excess);
    if (!m_pendingLog.isEmpty() && !m_logDrain->isActive())
        m_logDrain->start();
}

void MainWindow::drainLog()
{
    QElapsedTimer timer;
    timer.start();
    const int slice = int(qMin<qsizetype>(m_pendingLog.size(), 100));
    m_logModel->appendLines(m_pendingLog.mid(0, slice), false);
    m_pendingLog.remove(0, slice);
    if (!m_pendingLog.isEmpty())
        m_logDrain->start();
    Q_EMIT logApplied(timer.nsecsElapsed());
}

void MainWindow::openRun(const QModelIndex &index)
{
    if (!index.isValid())
        return;
    const QString runId = m_runModel->keyAt(m_runProxy->mapToSource(index).row());
    if (runId.isEmpty() || runId == m_openingRun)
        return; // double-click and activated come together
    m_openingRun = runId;
    statusBar()->showMessage(tr("Reading run %1…").arg(runId), 3000);
    m_client->requestRunDetails(runId);
}

void MainWindow::showRun(const RunDetails &details)
{
    if (details.runId == m_openingRun)
        m_openingRun.clear();
    auto *dialog = new RunDialog(details, this);
    dialog->setObjectName(QStringLiteral("runDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

void MainWindow::applyHistory(const RunHistory &history)
{
    if (history.worker != selectedWorker() || history.rows.isEmpty())
        return;
    if (!m_runModel->applyUpdate(history.rows)) {
        m_client->requestFullTables();
        return;
    }
    m_chart->setRuns(history.worker, history.runs);
}

void MainWindow::onConnectionState(ConnectionState state, const QString &description,
                                   const QString &error, int retryInMs)
{
    switch (state) {
    case ConnectionState::Disconnected:
        m_connectionLabel->setText(tr("Not connected"));
        m_banner->hide();
        break;
    case ConnectionState::Connecting:
        m_connectionLabel->setText(tr("Connecting to %1…").arg(description));
        break;
    case ConnectionState::Connected:
        m_connectionLabel->setText(tr("Connected to %1").arg(description));
        setWindowTitle(tr("%1 — Warden Console").arg(description));
        m_banner->hide();
        break;
    case ConnectionState::Lost:
        m_connectionLabel->setText(tr("%1 is unreachable").arg(description));
        m_bannerText->setText(
            tr("<b>The database is unreachable.</b> %1<br>Retrying in %2; "
               "what you see is as of the last refresh.")
                .arg(error.toHtmlEscaped(), RowBuilder::formatDuration(retryInMs)));
        m_banner->show();
        if (!m_passwordAsked && ConnectDialog::isPostgreSql(m_client->url()) &&
            error.contains(QLatin1String("password"), Qt::CaseInsensitive)) {
            m_passwordAsked = true;
            // disconnectFromStore() forgets the URL: ask for the one that failed.
            const QString url = m_client->url();
            m_client->disconnectFromStore();
            askPassword(url);
        }
        break;
    }
    updateActions();
}

void MainWindow::onActionFinished(const ActionResult &result)
{
    if (result.isOk) {
        statusBar()->showMessage(result.message, 8000);
        return;
    }
    statusBar()->showMessage(
        tr("%1 %2 failed: %3").arg(result.action, result.target, result.message), 15000);
    auto *box =
        new QMessageBox(QMessageBox::Critical, tr("Action failed"),
                        tr("%1 %2 failed:\n%3").arg(result.action, result.target, result.message),
                        QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::tick()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_lockModel->tick(now);
    m_workerModel->tick(now);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_host && m_host->isActive()) {
        // The hosted workers stop first (their runs get the stop token, cut-short runs are
        // recorded as cancelled, leases are released); the window closes once they have.
        // Nothing waits here: ConsoleHost::stateChanged() closes it again.
        event->ignore();
        m_closeWhenHostStopped = true;
        m_host->stop();
        return;
    }
    saveSettings();
    QMainWindow::closeEvent(event);
}

void MainWindow::saveSettings() const
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/view"), m_tabs->currentIndex());
    settings.setValue(QStringLiteral("window/workerSplitter"), m_workerSplitter->saveState());
    settings.setValue(QStringLiteral("window/historySplitter"), m_historySplitter->saveState());
    const std::pair<const char *, QTableView *> views[] = {
        {"workers", m_workerView}, {"locks", m_lockView},  {"nodes", m_nodeView},
        {"runs", m_runView},       {"audit", m_auditView}, {"log", m_logView}};
    for (const auto &[name, view] : views)
        settings.setValue(QStringLiteral("columns/%1").arg(QLatin1String(name)),
                          view->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("filters/workers"), m_workerFilter->text());
    settings.setValue(QStringLiteral("filters/workerState"), m_stateFilter->currentIndex());
    settings.setValue(QStringLiteral("filters/locks"), m_lockFilter->text());
    settings.setValue(QStringLiteral("filters/nodes"), m_nodeFilter->text());
    settings.setValue(QStringLiteral("filters/audit"), m_auditFilter->text());
    settings.setValue(QStringLiteral("filters/logNode"), m_logNode->currentText());
    settings.setValue(QStringLiteral("filters/logWorker"), m_logWorker->currentText());
    settings.setValue(QStringLiteral("filters/logLevel"), m_logLevel->currentIndex());
    settings.setValue(QStringLiteral("filters/logText"), m_logText->text());
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    if (settings.contains(QStringLiteral("window/geometry")))
        restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    m_tabs->setCurrentIndex(settings.value(QStringLiteral("window/view"), 0).toInt());
    m_workerSplitter->restoreState(
        settings.value(QStringLiteral("window/workerSplitter")).toByteArray());
    m_historySplitter->restoreState(
        settings.value(QStringLiteral("window/historySplitter")).toByteArray());
    const std::pair<const char *, QTableView *> views[] = {
        {"workers", m_workerView}, {"locks", m_lockView},  {"nodes", m_nodeView},
        {"runs", m_runView},       {"audit", m_auditView}, {"log", m_logView}};
    for (const auto &[name, view] : views) {
        const QByteArray state =
            settings.value(QStringLiteral("columns/%1").arg(QLatin1String(name))).toByteArray();
        if (!state.isEmpty())
            view->horizontalHeader()->restoreState(state);
    }
    m_workerFilter->setText(settings.value(QStringLiteral("filters/workers")).toString());
    m_stateFilter->setCurrentIndex(
        settings.value(QStringLiteral("filters/workerState"), 0).toInt());
    m_lockFilter->setText(settings.value(QStringLiteral("filters/locks")).toString());
    m_nodeFilter->setText(settings.value(QStringLiteral("filters/nodes")).toString());
    m_auditFilter->setText(settings.value(QStringLiteral("filters/audit")).toString());
    m_logNode->setCurrentText(settings.value(QStringLiteral("filters/logNode")).toString());
    m_logWorker->setCurrentText(settings.value(QStringLiteral("filters/logWorker")).toString());
    m_logLevel->setCurrentIndex(settings.value(QStringLiteral("filters/logLevel"), 0).toInt());
    m_logText->setText(settings.value(QStringLiteral("filters/logText")).toString());
}

void MainWindow::takeScreenshots(const QString &directory, int settleMs)
{
    m_screenshotDirectory = directory;
    m_screenshotSettleMs = settleMs;
    QDir().mkpath(directory);
    if (QScreen *shown = screen())
        setGeometry(shown->availableGeometry());
}

void MainWindow::nextScreenshot()
{
    static const char *const names[] = {"workers", "locks", "nodes", "log", "audit"};
    if (m_screenshotIndex >= 0) {
        const QString file = QDir(m_screenshotDirectory)
                                 .filePath(QStringLiteral("%1-%2.png")
                                               .arg(m_screenshotIndex + 1)
                                               .arg(QLatin1String(names[m_screenshotIndex])));
        if (!window()->grab().save(file))
            qWarning("warden-console: cannot save %s", qPrintable(file));
        else
            qInfo("warden-console: saved %s", qPrintable(file));
    }
    ++m_screenshotIndex;
    if (m_screenshotIndex >= int(std::size(names))) {
        close();
        return;
    }
    if (m_screenshotIndex == 0 && selectedWorker().isEmpty() && m_workerProxy->rowCount() > 0) {
        // Show a worker with runs, so the history pane has something to say.
        int best = 0;
        qint64 bestRuns = -1;
        for (int r = 0; r < m_workerProxy->rowCount(); ++r) {
            const qint64 runs =
                m_workerProxy->index(r, int(WorkerColumn::Runs)).data(SortRole).toLongLong();
            if (runs > bestRuns) {
                bestRuns = runs;
                best = r;
            }
        }
        selectWorker(m_workerProxy->index(best, 0).data(KeyRole).toString());
    }
    m_tabs->setCurrentIndex(m_screenshotIndex);
    QTimer::singleShot(m_screenshotIndex == 0 ? 2500 : 700, this, &MainWindow::nextScreenshot);
}

} // namespace Warden::Console
