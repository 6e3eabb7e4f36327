// warden-console: the Widgets admin console of a Warden store.

#include "icons.h"
#include "mainwindow.h"

#include <warden/global.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QTimer>
#include <QtWidgets/QApplication>

using Warden::Console::MainWindow;

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Warden"));
    QApplication::setApplicationName(QStringLiteral("warden-console"));
    QApplication::setApplicationDisplayName(QApplication::translate("main", "Warden Console"));
    QApplication::setApplicationVersion(Warden::version());
    QApplication::setDesktopFileName(QStringLiteral("warden-console"));
    QApplication::setWindowIcon(Warden::Console::Icons::application());

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QApplication::translate("main", "Shows and controls the workers of a Warden cluster."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption databaseOption(
        {QStringLiteral("d"), QStringLiteral("database")},
        QApplication::translate("main", "Open the store at <url> (sqlite:///path or "
                                        "postgresql://user@host/db)."),
        QStringLiteral("url"));
    const QCommandLineOption pollOption(
        QStringLiteral("poll-interval"),
        QApplication::translate("main", "Refresh every <ms> milliseconds (default 1000)."),
        QStringLiteral("ms"), QStringLiteral("1000"));
    const QCommandLineOption screenshotOption(
        QStringLiteral("screenshot-dir"),
        QApplication::translate("main", "Save a PNG of each view into <dir>, then quit."),
        QStringLiteral("dir"));
    const QCommandLineOption settleOption(
        QStringLiteral("screenshot-delay"),
        QApplication::translate("main", "Wait <ms> after the first refresh before the "
                                        "screenshots (default 3000)."),
        QStringLiteral("ms"), QStringLiteral("3000"));
    parser.addOptions({databaseOption, pollOption, screenshotOption, settleOption});
    parser.process(app);

    MainWindow window;
    window.client()->setPollInterval(parser.value(pollOption).toInt());
    if (parser.isSet(screenshotOption))
        window.takeScreenshots(parser.value(screenshotOption), parser.value(settleOption).toInt());
    window.show();
    if (parser.isSet(databaseOption))
        window.openStore(parser.value(databaseOption));
    else
        QTimer::singleShot(0, &window, &MainWindow::showConnectDialog);
    return app.exec();
}
