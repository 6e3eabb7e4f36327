#include <warden/lockmanager.h>

#include <QtTest/QtTest>

#include <thread>

using namespace Warden;
using namespace std::chrono_literals;

class tst_LockManager : public QObject
{
    Q_OBJECT
private slots:
    void acquireIsExclusiveAndNotReentrant();
    void expiredLeaseIsTakenOverWithGreaterToken();
    void renewOnlyByHolderWithToken();
    void releaseWakesAndKeepsToken();
    void forceRelease();
    void unavailableReportsErrors();
};

void tst_LockManager::acquireIsExclusiveAndNotReentrant()
{
    InProcessLockManager locks;
    const auto a = locks.tryAcquire(QStringLiteral("l"), QStringLiteral("a"), 10s);
    QCOMPARE(a.status, LockManager::Status::Acquired);
    QCOMPARE(a.lease.fencingToken, qint64(1));
    const auto b = locks.tryAcquire(QStringLiteral("l"), QStringLiteral("b"), 10s);
    QCOMPARE(b.status, LockManager::Status::Busy);
    QCOMPARE(b.lease.holder, QStringLiteral("a"));
    QCOMPARE(locks.tryAcquire(QStringLiteral("l"), QStringLiteral("a"), 10s).status,
             LockManager::Status::Busy);
}

void tst_LockManager::expiredLeaseIsTakenOverWithGreaterToken()
{
    InProcessLockManager locks;
    const auto a = locks.tryAcquire(QStringLiteral("l"), QStringLiteral("a"), 100ms);
    QCOMPARE(a.status, LockManager::Status::Acquired);
    std::this_thread::sleep_for(120ms);
    const auto b = locks.tryAcquire(QStringLiteral("l"), QStringLiteral("b"), 10s);
    QCOMPARE(b.status, LockManager::Status::Acquired);
    QCOMPARE(b.lease.fencingToken, a.lease.fencingToken + 1);
    // The old holder cannot renew what it lost.
    QCOMPARE(locks.renew(a.lease, 10s).status, LockManager::Status::Lost);
}

void tst_LockManager::renewOnlyByHolderWithToken()
{
    InProcessLockManager locks;
    const auto a = locks.tryAcquire(QStringLiteral("l"), QStringLiteral("a"), 10s);
    Lease forged = a.lease;
    forged.holder = QStringLiteral("b");
    QCOMPARE(locks.renew(forged, 10s).status, LockManager::Status::Lost);
    Lease stale = a.lease;
    stale.fencingToken = 0;
    QCOMPARE(locks.renew(stale, 10s).status, LockManager::Status::Lost);
    const auto renewed = locks.renew(a.lease, 10s);
    QCOMPARE(renewed.status, LockManager::Status::Acquired);
    QVERIFY(renewed.lease.expiresAt >= a.lease.expiresAt);
    QCOMPARE(renewed.lease.fencingToken, a.lease.fencingToken);
}

void tst_LockManager::releaseWakesAndKeepsToken()
{
    InProcessLockManager locks;
    QSignalSpy released(&locks, &LockManager::released);
    const auto a = locks.tryAcquire(QStringLiteral("l"), QStringLiteral("a"), 10s);
    QVERIFY(locks.release(a.lease));
    QCOMPARE(released.count(), 1);
    QCOMPARE(released.first().first().toString(), QStringLiteral("l"));
    const auto leases = locks.leases();
    QVERIFY(leases.isOk());
    QCOMPARE(leases.value().size(), 1);
    QVERIFY(leases.value().first().holder.isEmpty());
    const auto b = locks.tryAcquire(QStringLiteral("l"), QStringLiteral("b"), 10s);
    QCOMPARE(b.status, LockManager::Status::Acquired);
    QCOMPARE(b.lease.fencingToken, qint64(2));
    // Releasing a lease one no longer holds changes nothing.
    QVERIFY(locks.release(a.lease));
    QCOMPARE(locks.leases().value().first().holder, QStringLiteral("b"));
}

void tst_LockManager::forceRelease()
{
    InProcessLockManager locks;
    locks.tryAcquire(QStringLiteral("stuck"), QStringLiteral("a"), 1h);
    QString error;
    QVERIFY(!locks.forceRelease(QStringLiteral("other"), &error));
    QVERIFY(error.contains(QStringLiteral("no lock")));
    QVERIFY(locks.forceRelease(QStringLiteral("stuck")));
    QCOMPARE(locks.tryAcquire(QStringLiteral("stuck"), QStringLiteral("b"), 1h).status,
             LockManager::Status::Acquired);
}

void tst_LockManager::unavailableReportsErrors()
{
    InProcessLockManager locks;
    locks.setUnavailable(true);
    const auto a = locks.tryAcquire(QStringLiteral("l"), QStringLiteral("a"), 10s);
    QCOMPARE(a.status, LockManager::Status::Error);
    QVERIFY(!a.error.isEmpty());
    QVERIFY(!locks.leases().isOk());
}

QTEST_GUILESS_MAIN(tst_LockManager)
#include "tst_lockmanager.moc"
