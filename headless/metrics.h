#pragma once

#include <warden/records.h>

#include <QtCore/QHash>
#include <QtCore/QMap>
#include <QtCore/QObject>

#include <memory>

class QHttpServer;

namespace Warden {
class Service;
}

namespace Warden::Headless {

/*!
    The optional \c [http] endpoints of \c{warden run}, served with Qt HttpServer in the main
    thread:

    \list
    \li \c /metrics in the Prometheus text format (version 0.0.4):
        \c warden_runs_total{worker,outcome} (counter), \c warden_run_duration_seconds{worker}
        and \c warden_run_start_lateness_seconds{worker} (histograms),
        \c warden_last_success_timestamp_seconds{worker}, \c warden_leases_held,
        \c warden_workers{state}, \c warden_store_queued, \c warden_store_dropped_total,
        \c warden_up and \c warden_build_info{version,node}.
    \li \c /healthz: 200 and a small JSON object while the service runs and its store is
        connected, 503 otherwise.
    \endlist
*/
class MetricsServer final : public QObject
{
    Q_OBJECT
public:
    explicit MetricsServer(Service *service, QObject *parent = nullptr);
    ~MetricsServer() override;

    //! Listens on \a address and \a port (0: any free port); returns the port, or 0.
    quint16 listen(const QString &address, quint16 port, QString *error);

    void recordRun(const Warden::RunRecord &run);
    QByteArray metrics() const;
    QByteArray health(int *status) const;

private:
    struct Histogram
    {
        QList<qint64> buckets; // cumulative counts per bound
        qint64 count = 0;
        double sum = 0;
        void observe(double seconds);
    };
    struct PerWorker
    {
        QMap<QString, qint64> byOutcome;
        Histogram duration;
        Histogram lateness;
        QDateTime lastSuccess;
    };
    Service *m_service;
    std::unique_ptr<QHttpServer> m_server;
    QMap<QString, PerWorker> m_workers;
};

} // namespace Warden::Headless
