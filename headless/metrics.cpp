#include "metrics.h"

#include <warden/host.h>
#include <warden/sql/service.h>
#include <warden/store.h>

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>

#ifdef WARDEN_HAVE_HTTPSERVER
#include <QtHttpServer/QHttpServer>
#include <QtHttpServer/QHttpServerRequest>
#include <QtHttpServer/QHttpServerResponse>
#include <QtNetwork/QHostAddress>
#else
class QHttpServer
{
};
#endif

namespace Warden::Headless {

namespace {

const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                         2.5,   5,    10,    30,   60,  300,  1800};

QByteArray label(const QString &value)
{
    QByteArray text = value.toUtf8();
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    return text;
}

QByteArray number(double value)
{
    return QByteArray::number(value, 'g', 12);
}

} // namespace

void MetricsServer::Histogram::observe(double seconds)
{
    if (buckets.isEmpty())
        buckets.resize(int(std::size(bounds)));
    for (size_t i = 0; i < std::size(bounds); ++i) {
        if (seconds <= bounds[i])
            ++buckets[qsizetype(i)];
    }
    ++count;
    sum += seconds;
}

MetricsServer::MetricsServer(Service *service, QObject *parent)
    : QObject(parent)
    , m_service(service)
{}

MetricsServer::~MetricsServer() = default;

quint16 MetricsServer::listen(const QString &address, quint16 port, QString *error)
{
#ifndef WARDEN_HAVE_HTTPSERVER
    Q_UNUSED(address)
    Q_UNUSED(port)
    *error = QStringLiteral("this warden was built without Qt HttpServer; remove [http] or "
                            "rebuild with qt6-httpserver-dev and qt6-websockets-dev");
    return 0;
#else
    m_server = std::make_unique<QHttpServer>();
    m_server->route(QStringLiteral("/metrics"), [this](const QHttpServerRequest &) {
        return QHttpServerResponse(QByteArrayLiteral("text/plain; version=0.0.4; charset=utf-8"),
                                   metrics());
    });
    m_server->route(QStringLiteral("/healthz"), [this](const QHttpServerRequest &) {
        int status = 200;
        const QByteArray body = health(&status);
        return QHttpServerResponse(QByteArrayLiteral("application/json"), body,
                                   status == 200
                                       ? QHttpServerResponse::StatusCode::Ok
                                       : QHttpServerResponse::StatusCode::ServiceUnavailable);
    });
    const QHostAddress host(address);
    if (host.isNull()) {
        *error = QStringLiteral("http.address \"%1\" is not an IP address").arg(address);
        return 0;
    }
    const quint16 bound = m_server->listen(host, port);
    if (bound == 0)
        *error =
            QStringLiteral("cannot listen on %1:%2 (is the port in use?)").arg(address).arg(port);
    return bound;
#endif
}

void MetricsServer::recordRun(const RunRecord &run)
{
    PerWorker &w = m_workers[run.worker];
    ++w.byOutcome[toKeyword(run.outcome)];
    if (run.outcome == RunOutcome::Skipped)
        return;
    w.duration.observe(double(run.durationMs()) / 1000.0);
    if (!run.isManual())
        w.lateness.observe(double(qMax<qint64>(0, run.latenessMs())) / 1000.0);
    if (run.outcome == RunOutcome::Succeeded)
        w.lastSuccess = run.finishedAt;
}

QByteArray MetricsServer::metrics() const
{
    QByteArray out;
    auto header = [&](const char *name, const char *type, const char *help) {
        out += QByteArray("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n';
    };
    const Host *host = m_service->host();
    const QString node = host ? host->nodeId() : QString();

    header("warden_up", "gauge", "1 while the service runs.");
    out += "warden_up " + QByteArray(m_service->isRunning() ? "1" : "0") + '\n';
    header("warden_build_info", "gauge", "The version of warden and the node id.");
    out += "warden_build_info{version=\"" + label(Warden::version()) + "\",node=\"" + label(node) +
           "\"} 1\n";

    header("warden_runs_total", "counter", "Runs finished since start, by worker and outcome.");
    for (auto it = m_workers.cbegin(); it != m_workers.cend(); ++it) {
        for (auto o = it->byOutcome.cbegin(); o != it->byOutcome.cend(); ++o)
            out += "warden_runs_total{worker=\"" + label(it.key()) + "\",outcome=\"" +
                   label(o.key()) + "\"} " + QByteArray::number(o.value()) + '\n';
    }
    auto histogram = [&](const char *name, const char *help, Histogram PerWorker::*member) {
        header(name, "histogram", help);
        for (auto it = m_workers.cbegin(); it != m_workers.cend(); ++it) {
            const Histogram &h = (*it).*member;
            if (h.count == 0)
                continue;
            const QByteArray worker = "worker=\"" + label(it.key()) + '"';
            for (size_t i = 0; i < std::size(bounds); ++i)
                out += QByteArray(name) + "_bucket{" + worker + ",le=\"" + number(bounds[i]) +
                       "\"} " + QByteArray::number(h.buckets.value(qsizetype(i))) + '\n';
            out += QByteArray(name) + "_bucket{" + worker + ",le=\"+Inf\"} " +
                   QByteArray::number(h.count) + '\n';
            out += QByteArray(name) + "_sum{" + worker + "} " + number(h.sum) + '\n';
            out +=
                QByteArray(name) + "_count{" + worker + "} " + QByteArray::number(h.count) + '\n';
        }
    };
    histogram("warden_run_duration_seconds", "How long runs took.", &PerWorker::duration);
    histogram("warden_run_start_lateness_seconds",
              "How late scheduled runs started against their schedule.", &PerWorker::lateness);
    header("warden_last_success_timestamp_seconds", "gauge",
           "When the worker's last successful run finished (Unix time).");
    for (auto it = m_workers.cbegin(); it != m_workers.cend(); ++it) {
        if (it->lastSuccess.isValid())
            out += "warden_last_success_timestamp_seconds{worker=\"" + label(it.key()) + "\"} " +
                   number(double(it->lastSuccess.toMSecsSinceEpoch()) / 1000.0) + '\n';
    }

    QMap<QString, int> byState;
    int leases = 0;
    if (host) {
        for (const WorkerStatus &s : host->snapshot()) {
            ++byState[toKeyword(s.state)];
            // A leader holds its lease while not on standby; a per-run lock while running.
            if ((s.lockMode == LockMode::Leader &&
                 (s.state == WorkerState::Idle || s.state == WorkerState::Running)) ||
                (s.lockMode == LockMode::PerRun && s.state == WorkerState::Running))
                ++leases;
        }
    }
    header("warden_ticks_left_to_other_nodes_total", "counter",
           "Ticks of the worker that this node left to another: the lock was held elsewhere "
           "(by the node that ran the tick, or that still ran an earlier one or was dying), "
           "or the ledger had the tick run already. Since the worker started here; not runs "
           "of this node.");
    if (host) {
        for (const WorkerStatus &s : host->snapshot()) {
            if (s.lockMode != LockMode::None)
                out += "warden_ticks_left_to_other_nodes_total{worker=\"" + label(s.worker) +
                       "\"} " + QByteArray::number(s.skipCount) + '\n';
        }
    }
    header("warden_leases_held", "gauge", "Leases this node holds now.");
    out += "warden_leases_held " + QByteArray::number(leases) + '\n';
    header("warden_workers", "gauge", "Workers of this node by state.");
    for (auto it = byState.cbegin(); it != byState.cend(); ++it)
        out += "warden_workers{state=\"" + label(it.key()) + "\"} " +
               QByteArray::number(it.value()) + '\n';
    if (const auto store = m_service->store()) {
        const StoreStatistics stats = store->statistics();
        header("warden_store_queued", "gauge", "Store writes waiting in memory.");
        out += "warden_store_queued " + QByteArray::number(stats.queued) + '\n';
        header("warden_store_dropped_total", "counter",
               "Run records and log lines dropped because the store's queue was full.");
        out += "warden_store_dropped_total{kind=\"run\"} " + QByteArray::number(stats.droppedRuns) +
               '\n';
        out += "warden_store_dropped_total{kind=\"log\"} " +
               QByteArray::number(stats.droppedLogLines) + '\n';
        header("warden_store_connected", "gauge", "1 while the store reaches its database.");
        out += "warden_store_connected " + QByteArray(stats.isConnected ? "1" : "0") + '\n';
    }
    return out;
}

QByteArray MetricsServer::health(int *status) const
{
    const bool running = m_service->isRunning();
    bool connected = false;
    QString lastError;
    if (const auto store = m_service->store()) {
        const StoreStatistics stats = store->statistics();
        connected = stats.isConnected;
        lastError = stats.lastError;
    }
    const bool healthy = running && connected;
    *status = healthy ? 200 : 503;
    QJsonObject body{
        {QStringLiteral("status"), healthy ? QStringLiteral("ok") : QStringLiteral("unavailable")},
        {QStringLiteral("running"), running},
        {QStringLiteral("store_connected"), connected}};
    if (!connected && !lastError.isEmpty())
        body.insert(QStringLiteral("store_error"), lastError);
    if (const Host *host = m_service->host())
        body.insert(QStringLiteral("node"), host->nodeId());
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}

} // namespace Warden::Headless
