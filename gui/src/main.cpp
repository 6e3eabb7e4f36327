// warden-console: the Widgets admin console of a Warden store.

#include "commandline.h"
#include "icons.h"
#include "mainwindow.h"

#include <warden/global.h>

#include <QtWidgets/QApplication>

#include <cstdio>

using namespace Warden::Console;

int main(int argc, char **argv)
{
    QCoreApplication::setApplicationName(QStringLiteral("warden-console"));
    QCoreApplication::setApplicationVersion(Warden::version());

    // --help and --version need no display: answered before QApplication exists. Everything
    // else is parsed after it, which removes Qt's own options (-platform, ...) first. Exit
    // codes as warden(1) has them: 64 usage, 78 config error.
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg == "-h" || arg == "--help" || arg == "-?" || arg == "-v" || arg == "--version") {
            CommandLine commandLine;
            QStringList arguments{QStringLiteral("warden-console"), QString::fromLocal8Bit(arg)};
            commandLine.parse(arguments);
            if (commandLine.isHelpRequested())
                std::fputs(qPrintable(commandLine.helpText()), stdout);
            else
                std::printf("warden-console %s\n", qPrintable(Warden::version()));
            return 0;
        }
    }

    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Warden"));
    QApplication::setApplicationDisplayName(QApplication::translate("main", "Warden Console"));
    QApplication::setDesktopFileName(QStringLiteral("warden-console"));
    QApplication::setWindowIcon(Icons::application());

    CommandLine commandLine;
    if (!commandLine.parse(QApplication::arguments())) {
        std::fprintf(stderr, "warden-console: %s\n", qPrintable(commandLine.errorText()));
        return 64;
    }
    MainWindow window;
    QString error;
    if (!startConsole(window, commandLine.options(), &error)) {
        std::fprintf(stderr, "%s\nwarden-console: nothing was started\n", qPrintable(error));
        return 78;
    }
    window.show();
    return app.exec();
}
