#include "logmodel.h"

#include "consoletypes.h"
#include "icons.h"

#include <QtGui/QColor>

namespace Warden::Console {

LogModel::LogModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

int LogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_lines.size());
}

int LogModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString LogModel::levelName(QtMsgType level)
{
    switch (level) {
    case QtDebugMsg:
        return tr("debug");
    case QtInfoMsg:
        return tr("info");
    case QtWarningMsg:
        return tr("warning");
    case QtCriticalMsg:
        return tr("critical");
    case QtFatalMsg:
        return tr("fatal");
    }
    return QString();
}

QString LogModel::toText(const StoredLogLine &stored)
{
    const LogLine &line = stored.line;
    return QStringList{line.time.toUTC().toString(Qt::ISODateWithMs), levelName(line.level),
                       line.node, line.worker, line.message}
        .join(QLatin1Char('\t'));
}

QVariant LogModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() < 0 || index.row() >= m_lines.size())
        return QVariant();
    const LogLine &line = m_lines.at(index.row()).line;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Time:
            return line.time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"));
        case Level:
            return levelName(line.level);
        case Node:
            return line.node;
        case Worker:
            return line.worker;
        case Message:
            return line.message;
        default:
            return QVariant();
        }
    case Qt::ToolTipRole:
        if (index.column() == Message)
            return line.runId.isEmpty() ? line.message
                                        : tr("%1\n\nrun %2, category %3")
                                              .arg(line.message, line.runId, line.category);
        return QVariant();
    case Qt::DecorationRole:
        if (index.column() != Level)
            return QVariant();
        if (line.level == QtWarningMsg)
            return Icons::icon(QStringLiteral("node-late"));
        if (line.level == QtCriticalMsg || line.level == QtFatalMsg)
            return Icons::icon(QStringLiteral("outcome-failed"));
        return QVariant();
    case Qt::ForegroundRole:
        if (line.level == QtCriticalMsg || line.level == QtFatalMsg)
            return QColor(0xb3, 0x26, 0x1e);
        if (line.level == QtDebugMsg)
            return QColor(0x5f, 0x63, 0x68);
        return QVariant();
    case LevelRole:
        return int(line.level);
    case IdRole:
        return m_lines.at(index.row()).id;
    case SortRole:
        return m_lines.at(index.row()).id;
    default:
        return QVariant();
    }
}

QVariant LogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole || orientation != Qt::Horizontal)
        return QVariant();
    switch (section) {
    case Time:
        return tr("Time");
    case Level:
        return tr("Level");
    case Node:
        return tr("Node");
    case Worker:
        return tr("Worker");
    case Message:
        return tr("Message");
    default:
        return QVariant();
    }
}

Qt::ItemFlags LogModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    return Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
}

void LogModel::appendLines(const QList<StoredLogLine> &lines, bool reset)
{
    if (reset && !m_lines.isEmpty()) {
        beginResetModel();
        m_lines.clear();
        endResetModel();
    }
    QList<StoredLogLine> fresh;
    const qint64 lastId = m_lines.isEmpty() ? 0 : m_lines.constLast().id;
    for (const StoredLogLine &line : lines) {
        if (line.id > lastId)
            fresh.append(line);
    }
    if (fresh.size() > m_maximum)
        fresh = fresh.mid(fresh.size() - m_maximum);
    if (!fresh.isEmpty()) {
        const int first = int(m_lines.size());
        beginInsertRows(QModelIndex(), first, first + int(fresh.size()) - 1);
        m_lines.append(fresh);
        endInsertRows();
    }
    trim();
}

void LogModel::setMaximumLines(int maximum)
{
    m_maximum = qMax(1, maximum);
    trim();
}

void LogModel::trim()
{
    const int excess = int(m_lines.size()) - m_maximum;
    if (excess <= 0)
        return;
    beginRemoveRows(QModelIndex(), 0, excess - 1);
    m_lines.remove(0, excess);
    endRemoveRows();
}

int LogFilterProxy::severity(QtMsgType level)
{
    return Warden::severity(level);
}

void LogFilterProxy::setNode(const QString &node)
{
    if (node == m_node)
        return;
    m_node = node;
    invalidateRowsFilter();
}

void LogFilterProxy::setWorker(const QString &worker)
{
    if (worker == m_worker)
        return;
    m_worker = worker;
    invalidateRowsFilter();
}

void LogFilterProxy::setMinimumLevel(int minimumSeverity)
{
    if (minimumSeverity == m_minimumSeverity)
        return;
    m_minimumSeverity = minimumSeverity;
    invalidateRowsFilter();
}

void LogFilterProxy::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    invalidateRowsFilter();
}

bool LogFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    auto *log = qobject_cast<const LogModel *>(sourceModel());
    if (!log || sourceParent.isValid() || sourceRow < 0 || sourceRow >= log->rowCount())
        return false;
    const LogLine &line = log->lineAt(sourceRow).line;
    if (!m_node.isEmpty() && line.node != m_node)
        return false;
    if (!m_worker.isEmpty() && line.worker != m_worker)
        return false;
    if (severity(line.level) < m_minimumSeverity)
        return false;
    // The message only, as the store's query matches it (the worker has a filter of its own).
    if (!m_text.isEmpty() && !line.message.contains(m_text, Qt::CaseInsensitive))
        return false;
    return true;
}

TableFilterProxy::TableFilterProxy(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(SortRole);
    setSortCaseSensitivity(Qt::CaseInsensitive);
    setDynamicSortFilter(true);
}

void TableFilterProxy::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    invalidateRowsFilter();
}

void TableFilterProxy::setColumnFilter(int column, const QStringList &values)
{
    m_column = column;
    m_values = values;
    invalidateRowsFilter();
}

bool TableFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QAbstractItemModel *model = sourceModel();
    if (!model)
        return false;
    if (m_column >= 0 && !m_values.isEmpty()) {
        const QString value = model->index(sourceRow, m_column, sourceParent).data().toString();
        bool matched = false;
        for (const QString &wanted : m_values) {
            if (value.startsWith(wanted, Qt::CaseInsensitive)) {
                matched = true;
                break;
            }
        }
        if (!matched)
            return false;
    }
    if (m_text.isEmpty())
        return true;
    const int columns = model->columnCount(sourceParent);
    for (int c = 0; c < columns; ++c) {
        if (model->index(sourceRow, c, sourceParent)
                .data()
                .toString()
                .contains(m_text, Qt::CaseInsensitive))
            return true;
    }
    return false;
}

} // namespace Warden::Console
