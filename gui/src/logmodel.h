#pragma once

#include <warden/store.h>

#include <QtCore/QAbstractTableModel>
#include <QtCore/QSortFilterProxyModel>

namespace Warden::Console {

/*!
    The cluster's log lines, oldest first: a tail that grows at the bottom
    (beginInsertRows) and drops its oldest lines beyond maximumLines() (beginRemoveRows).
*/
class LogModel final : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Time, Level, Node, Worker, Message, ColumnCount };
    enum Roles { LevelRole = Qt::UserRole + 10, IdRole };

    explicit LogModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;

    //! Appends \a lines (ids must grow); with \a reset the model starts over.
    void appendLines(const QList<StoredLogLine> &lines, bool reset);
    void setMaximumLines(int maximum);
    int maximumLines() const { return m_maximum; }
    const StoredLogLine &lineAt(int row) const { return m_lines.at(row); }

    static QString levelName(QtMsgType level);
    //! One line as text, tab-separated, for copy and export.
    static QString toText(const StoredLogLine &line);

private:
    void trim();

    QList<StoredLogLine> m_lines;
    int m_maximum = 50000;
};

//! Filters log lines by node, worker, minimum level and text.
class LogFilterProxy final : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setNode(const QString &node);
    void setWorker(const QString &worker);
    void setMinimumLevel(int severity); //!< 0 debug, 1 info, 2 warning, 3 critical, 4 fatal
    void setText(const QString &text);

    static int severity(QtMsgType level);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_node;
    QString m_worker;
    QString m_text;
    int m_minimumSeverity = 0;
};

/*!
    Sorts a RowTableModel by its sort values and filters it by a text (any column) and,
    optionally, by one column's text.
*/
class TableFilterProxy final : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit TableFilterProxy(QObject *parent = nullptr);

    void setText(const QString &text);
    QString text() const { return m_text; }
    //! Only rows whose \a column shows one of \a values (empty: every row).
    void setColumnFilter(int column, const QStringList &values);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_text;
    int m_column = -1;
    QStringList m_values;
};

} // namespace Warden::Console
