#include <warden/adminactions.h>
#include <warden/lockmanager.h>
#include <warden/store.h>

#include <QtTest/QtTest>

using namespace Warden;
using namespace std::chrono_literals;

class tst_AdminActions : public QObject
{
    Q_OBJECT
private slots:
    void disableEnableAndPauseAreAudited();
    void pauseInThePastRefused();
    void triggerIncrementsSequence();
    void releaseNamesTheHolder();
    void badNamesRefused();
};

void tst_AdminActions::disableEnableAndPauseAreAudited()
{
    auto store = std::make_shared<InMemoryStore>();
    AdminActions admin(store, std::make_shared<InProcessLockManager>(), QStringLiteral("test"));
    admin.setUser(QStringLiteral("alice"));
    QSignalSpy changed(store.get(), &Store::workerSettingsChanged);
    QVERIFY(admin.disable(QStringLiteral("w"), QStringLiteral("maintenance")).isOk());
    QCOMPARE(changed.count(), 1);
    auto settings = store->workerSettings().value();
    QCOMPARE(settings.size(), 1);
    QVERIFY(!settings.first().enabled);
    QCOMPARE(settings.first().reason, QStringLiteral("maintenance"));
    QCOMPARE(settings.first().changedBy, QStringLiteral("alice"));

    const QDateTime until = QDateTime::currentDateTimeUtc().addSecs(3600);
    const auto paused = admin.disable(QStringLiteral("w"), QStringLiteral("deploy"), until);
    QVERIFY2(paused.isOk(), qPrintable(paused.errorString()));
    settings = store->workerSettings().value();
    QVERIFY(settings.first().enabled);
    QVERIFY(settings.first().isPausedAt(QDateTime::currentDateTimeUtc()));

    QVERIFY(admin.enable(QStringLiteral("w")).isOk());
    settings = store->workerSettings().value();
    QVERIFY(settings.first().enabled);
    QVERIFY(!settings.first().pausedUntil.isValid());

    const auto audit = store->auditTrail(10).value();
    QCOMPARE(audit.size(), 3);
    QCOMPARE(audit.at(0).action, QStringLiteral("enable"));
    QCOMPARE(audit.at(1).action, QStringLiteral("pause"));
    QCOMPARE(audit.at(2).action, QStringLiteral("disable"));
    QCOMPARE(audit.at(2).user, QStringLiteral("alice"));
    QCOMPARE(audit.at(2).origin, QStringLiteral("test"));
    QCOMPARE(audit.at(2).reason, QStringLiteral("maintenance"));
}

void tst_AdminActions::pauseInThePastRefused()
{
    auto store = std::make_shared<InMemoryStore>();
    AdminActions admin(store, std::make_shared<InProcessLockManager>(), QStringLiteral("test"));
    const auto result =
        admin.disable(QStringLiteral("w"), QString(), QDateTime::currentDateTimeUtc().addSecs(-5));
    QVERIFY(!result.isOk());
    QVERIFY(result.errorString().contains(QStringLiteral("has passed")));
    QVERIFY(store->workerSettings().value().isEmpty());
    QVERIFY(store->auditTrail(10).value().isEmpty());
}

void tst_AdminActions::triggerIncrementsSequence()
{
    auto store = std::make_shared<InMemoryStore>();
    AdminActions admin(store, std::make_shared<InProcessLockManager>(), QStringLiteral("test"));
    QCOMPARE(admin.trigger(QStringLiteral("w")).value(), qint64(1));
    QCOMPARE(admin.trigger(QStringLiteral("w")).value(), qint64(2));
    QCOMPARE(store->auditTrail(10).value().first().action, QStringLiteral("trigger"));

    // A continuous worker has no run to start: refused, and nothing requested or audited.
    WorkerStatus loop;
    loop.worker = QStringLiteral("loop");
    loop.node = QStringLiteral("n1");
    loop.kind = QStringLiteral("continuous");
    store->publishWorkerStatus(loop);
    const auto refused = admin.trigger(QStringLiteral("loop"));
    QVERIFY(!refused.isOk());
    QVERIFY2(refused.errorString().contains(QLatin1String("continuous")),
             qPrintable(refused.errorString()));
    QCOMPARE(store->auditTrail(10).value().size(), 2);
    // A periodic worker of that name on another node may run it.
    WorkerStatus periodic = loop;
    periodic.node = QStringLiteral("n2");
    periodic.kind = QStringLiteral("periodic");
    store->publishWorkerStatus(periodic);
    QVERIFY(admin.trigger(QStringLiteral("loop")).isOk());
}

void tst_AdminActions::releaseNamesTheHolder()
{
    auto store = std::make_shared<InMemoryStore>();
    auto locks = std::make_shared<InProcessLockManager>();
    AdminActions admin(store, locks, QStringLiteral("test"));
    QVERIFY(!admin.release(QStringLiteral("nope")).isOk());
    locks->tryAcquire(QStringLiteral("stuck"), QStringLiteral("node-7"), 1h);
    const auto released = admin.release(QStringLiteral("stuck"), QStringLiteral("node died"));
    QVERIFY(released.isOk());
    QCOMPARE(released.value().holder, QStringLiteral("node-7"));
    QVERIFY(locks->leases().value().first().holder.isEmpty());
    const AuditEntry entry = store->auditTrail(1).value().first();
    QCOMPARE(entry.action, QStringLiteral("release"));
    QVERIFY(entry.details.contains(QStringLiteral("node-7")));
}

void tst_AdminActions::badNamesRefused()
{
    auto store = std::make_shared<InMemoryStore>();
    AdminActions admin(store, std::make_shared<InProcessLockManager>(), QStringLiteral("test"));
    const auto result = admin.disable(QStringLiteral("x'; DROP TABLE y; --"));
    QVERIFY(!result.isOk());
    QVERIFY(result.errorString().contains(QStringLiteral("contains")));
    QVERIFY(store->workerSettings().value().isEmpty());
}

QTEST_GUILESS_MAIN(tst_AdminActions)
#include "tst_adminactions.moc"
