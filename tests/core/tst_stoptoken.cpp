#include <warden/stoptoken.h>

#include <QtTest/QtTest>

#include <atomic>
#include <thread>

using namespace Warden;
using namespace std::chrono;

class tst_StopToken : public QObject
{
    Q_OBJECT
private slots:
    void defaultTokenNeverStops();
    void requestStopOnce();
    void waitForReturnsEarlyOnStop();
    void waitForTimesOut();
    void callbacksRunOnceInRequestingThread();
    void callbackAfterStopRunsAtOnce();
    void removedCallbackDoesNotRun();
};

void tst_StopToken::defaultTokenNeverStops()
{
    StopToken token;
    QVERIFY(!token.isStopRequested());
    QCOMPARE(token.stopReason(), StopReason::None);
    QVERIFY(!token.waitFor(milliseconds(1)));
}

void tst_StopToken::requestStopOnce()
{
    StopSource source;
    StopToken token = source.token();
    QVERIFY(!token.isStopRequested());
    QVERIFY(source.requestStop(StopReason::Timeout));
    QVERIFY(!source.requestStop(StopReason::Shutdown));
    QVERIFY(token.isStopRequested());
    QCOMPARE(token.stopReason(), StopReason::Timeout);
}

void tst_StopToken::waitForReturnsEarlyOnStop()
{
    StopSource source;
    std::thread stopper([source] {
        std::this_thread::sleep_for(milliseconds(50));
        source.requestStop();
    });
    const auto begin = steady_clock::now();
    const bool stopped = source.token().waitFor(seconds(30));
    const auto waited = steady_clock::now() - begin;
    stopper.join();
    QVERIFY(stopped);
    QVERIFY2(waited < seconds(10), "waitFor() did not return early on stop");
}

void tst_StopToken::waitForTimesOut()
{
    StopSource source;
    const auto begin = steady_clock::now();
    QVERIFY(!source.token().waitFor(milliseconds(20)));
    QVERIFY(steady_clock::now() - begin >= milliseconds(20));
}

void tst_StopToken::callbacksRunOnceInRequestingThread()
{
    StopSource source;
    std::atomic<int> calls{0};
    std::thread::id ranIn;
    source.token().onStop([&] {
        ++calls;
        ranIn = std::this_thread::get_id();
    });
    std::thread requester([&] {
        source.requestStop();
        source.requestStop();
    });
    const auto requesterId = requester.get_id();
    requester.join();
    QCOMPARE(calls.load(), 1);
    QVERIFY(ranIn == requesterId);
}

void tst_StopToken::callbackAfterStopRunsAtOnce()
{
    StopSource source;
    source.requestStop();
    bool ran = false;
    QCOMPARE(source.token().onStop([&] { ran = true; }), 0);
    QVERIFY(ran);
}

void tst_StopToken::removedCallbackDoesNotRun()
{
    StopSource source;
    bool ran = false;
    const int id = source.token().onStop([&] { ran = true; });
    source.token().removeCallback(id);
    source.requestStop();
    QVERIFY(!ran);
}

QTEST_GUILESS_MAIN(tst_StopToken)
#include "tst_stoptoken.moc"
