#include "ingest/csv.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cassert>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ingest/internal/event_json.hpp"

namespace pond {
namespace {

namespace json = boost::json;
using ingest_internal::InvalidUtf8Offset;
using ingest_internal::InvalidUtf8Reason;

// Header indices are bounded like items: an order has at most 1000 of them.
constexpr int kMaxIndex = 999;
// Events nest two levels ("items[0].sku"); the bound keeps building a row's
// JSON from recursing as deep as a hostile header is long.
constexpr size_t kMaxPathSegments = 4;
// Room for 1000 items of a few fields each, and a bound on per-row work.
constexpr size_t kMaxColumns = 8192;

// Buffered bytes of a stream: the CSV state machine looks at every byte.
class ByteReader {
 public:
  static constexpr int kEof = -1;

  explicit ByteReader(std::istream& in) : in_(in), buffer_(std::make_unique_for_overwrite<char[]>(kBufferBytes)) {}

  int Get() { return pos_ < end_ || Fill() ? static_cast<unsigned char>(buffer_[pos_++]) : kEof; }
  int Peek() { return pos_ < end_ || Fill() ? static_cast<unsigned char>(buffer_[pos_]) : kEof; }

  // Excel writes a byte order mark before "UTF-8 CSV"; it is not data.
  void SkipUtf8Bom() {
    if (pos_ == end_) Fill();
    if (end_ - pos_ >= 3 && std::memcmp(buffer_.get() + pos_, "\xEF\xBB\xBF", 3) == 0) pos_ += 3;
  }

 private:
  bool Fill() {
    in_.read(buffer_.get(), static_cast<std::streamsize>(kBufferBytes));
    pos_ = 0;
    end_ = static_cast<size_t>(in_.gcount());
    return end_ > 0;
  }

  static constexpr size_t kBufferBytes = size_t{64} << 10;

  std::istream& in_;
  std::unique_ptr<char[]> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
};

// One path step: "items[0]" is {"items", 0}, "sku" is {"sku", -1}.
struct Segment {
  std::string_view name;
  int index = -1;
};

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

// Splits "items[0].sku"; on failure the reason for the column.
bool SplitPath(std::string_view path, std::vector<Segment>* out, std::string* reason) {
  *reason = "is not a field path (like order_id, member.phone or items[0].sku)";
  size_t i = 0;
  for (;;) {
    const size_t start = i;
    while (i < path.size() && IsNameChar(path[i], i == start)) ++i;
    if (i == start) return false;
    Segment seg{path.substr(start, i - start)};
    if (i < path.size() && path[i] == '[') {
      const size_t digits = ++i;
      int index = 0;
      while (i < path.size() && path[i] >= '0' && path[i] <= '9' && i - digits < 4)
        index = index * 10 + (path[i++] - '0');
      // No leading zeros, so "items[1]" and "items[01]" cannot both name one cell.
      if (i == digits || i >= path.size() || path[i] != ']' || (path[digits] == '0' && i - digits > 1)) return false;
      if (index > kMaxIndex) {
        *reason = "has an index above " + std::to_string(kMaxIndex);
        return false;
      }
      seg.index = index;
      ++i;
    }
    out->push_back(seg);
    if (out->size() > kMaxPathSegments) {
      *reason = "is nested deeper than " + std::to_string(kMaxPathSegments) + " levels";
      return false;
    }
    if (i == path.size()) return true;
    if (path[i] != '.') return false;
    ++i;
  }
}

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

class CsvEventReader::Impl {
 public:
  Impl(std::istream& in, std::string default_type) : src_(in), default_type_(std::move(default_type)) {}

  Status ReadHeader() {
    src_.SkipUtf8Bom();
    if (!ReadRecord()) return HeaderInvalid({{"", "is missing: the file is empty"}});
    std::vector<FieldError> errors;
    if (record_error_) errors.push_back({"", "header row " + record_error_->reason});
    if (too_long_) errors.push_back({"", "header row is longer than " + std::to_string(kMaxRowBytes) + " bytes"});
    if (n_cells_ > kMaxColumns)
      errors.push_back({"", "header has more than " + std::to_string(kMaxColumns) + " columns"});
    if (!errors.empty()) return HeaderInvalid(std::move(errors));

    nodes_.push_back({Node::kObject, -1, "", {}, {}});
    std::unordered_set<std::string> seen;
    bool has_type = false;
    for (size_t i = 0; i < n_cells_; ++i) {
      const std::string column_number = "column " + std::to_string(i + 1);
      if (auto bad = InvalidUtf8Offset(cells_[i])) {
        errors.push_back({"", column_number + " has " + InvalidUtf8Reason(*bad)});
        columns_.emplace_back();
        continue;
      }
      // Spreadsheets pad header cells; the name inside is what counts.
      columns_.emplace_back(TrimBlanks(cells_[i]));
      const std::string& name = columns_.back();
      if (name.empty()) {
        errors.push_back({"", column_number + " has no name"});
        continue;
      }
      if (!seen.insert(name).second) {
        errors.push_back({name, "is a duplicate column"});
        continue;
      }
      std::vector<Segment> path;
      std::string reason;
      if (!SplitPath(name, &path, &reason)) {
        errors.push_back({name, std::move(reason)});
        continue;
      }
      if (!Insert(static_cast<int>(i), path, &reason)) {
        errors.push_back({name, std::move(reason)});
        continue;
      }
      has_type |= name == "type";
    }
    for (const Node& node : nodes_) {
      for (size_t k = 0; k < node.elements.size(); ++k) {
        if (node.elements[k] < 0) {
          errors.push_back({node.path, "has columns for [" + std::to_string(node.elements.size() - 1) +
                                           "] but none for [" + std::to_string(k) + "]"});
          break;
        }
      }
    }
    if (!has_type && default_type_.empty()) {
      errors.push_back({"type", "has no column and no default event type was given"});
    } else if (!has_type && !ingest_internal::IsEventType(default_type_)) {
      errors.push_back({"type", "default event type '" + default_type_ +
                                    "' is not one of member, order, refund, "
                                    "store, staff, product, category"});
    }
    if (!errors.empty()) return HeaderInvalid(std::move(errors));
    header_read_ = true;
    return Status::Ok();
  }

  bool Next(ParsedLine* out) {
    assert(header_read_ && "CsvEventReader::Next before a successful ReadHeader");
    for (;;) {
      if (!ReadRecord()) return false;
      if (!record_error_ && !too_long_ && AllCellsEmpty()) continue;  // blank line, or ",,," from a spreadsheet
      *out = {record_line_, ParseRow()};
      return true;
    }
  }

 private:
  struct Node {
    enum Kind { kLeaf, kObject, kArray } kind;
    int column;                                       // the cell of a leaf; otherwise the column that created the node
    std::string path;                                 // as a field path, for errors
    std::vector<std::pair<std::string, int>> fields;  // kObject: key → node
    std::vector<int> elements;                        // kArray: index → node, -1 until a column names it
  };
  struct RecordError {
    size_t cell;
    std::string reason;
  };

  static Status HeaderInvalid(std::vector<FieldError> errors) {
    std::string message =
        "bad CSV header: " + (errors[0].field.empty() ? "" : errors[0].field + " ") + errors[0].reason;
    if (errors.size() > 1) message += " (and " + std::to_string(errors.size() - 1) + " more)";
    Status status = InvalidArgument(std::move(message));
    for (FieldError& e : errors) status.AddFieldError(std::move(e.field), std::move(e.reason));
    return status;
  }

  int AddNode(Node::Kind kind, int column, std::string path) {
    nodes_.push_back({kind, column, std::move(path), {}, {}});
    return static_cast<int>(nodes_.size() - 1);
  }

  // Adds a column's path to the tree of the row object.
  bool Insert(int column, const std::vector<Segment>& path, std::string* reason) {
    int node = 0;
    for (size_t k = 0; k < path.size(); ++k) {
      const Segment& seg = path[k];
      const bool last = k + 1 == path.size();
      const Node::Kind want = seg.index >= 0 ? Node::kArray : last ? Node::kLeaf : Node::kObject;
      int child = -1;
      for (const auto& [key, id] : nodes_[node].fields) {
        if (key == seg.name) child = id;
      }
      const std::string child_path =
          nodes_[node].path.empty() ? std::string(seg.name) : nodes_[node].path + "." + std::string(seg.name);
      if (child < 0) {
        child = AddNode(want, column, child_path);
        nodes_[node].fields.emplace_back(seg.name, child);
      } else if (nodes_[child].kind != want || want == Node::kLeaf) {
        return Conflict(child, reason);
      }
      node = child;
      if (seg.index < 0) continue;
      const Node::Kind element_want = last ? Node::kLeaf : Node::kObject;
      const auto index = static_cast<size_t>(seg.index);
      if (nodes_[node].elements.size() <= index) nodes_[node].elements.resize(index + 1, -1);
      int element = nodes_[node].elements[index];
      if (element < 0) {
        element = AddNode(element_want, column, child_path + "[" + std::to_string(index) + "]");
        nodes_[node].elements[index] = element;
      } else if (nodes_[element].kind != element_want || element_want == Node::kLeaf) {
        return Conflict(element, reason);
      }
      node = element;
    }
    // The one cell that holds JSON text rather than a string.
    if (path.size() == 1 && path[0].index < 0 && path[0].name == "items") items_json_column_ = column;
    return true;
  }

  bool Conflict(int node, std::string* reason) {
    *reason = "conflicts with column '" + columns_[static_cast<size_t>(nodes_[node].column)] + "'";
    return false;
  }

  // RFC 4180 record into cells_[0, n_cells_); false at the end of input.
  bool ReadRecord() {
    int c = src_.Get();
    if (c == ByteReader::kEof) return false;
    record_line_ = line_;
    n_cells_ = 0;
    record_bytes_ = 0;
    too_long_ = false;
    record_error_.reset();
    for (;;) {
      std::string& cell = NewCell();
      if (c == '"') {
        for (;;) {
          c = src_.Get();
          if (c == ByteReader::kEof) {
            SetError("has an unterminated quote");
            return true;
          }
          if (c == '"' && (c = src_.Get()) != '"') break;  // a closing quote; "" is a quote
          if (c == '\n') ++line_;
          Append(&cell, c);
        }
        if (c == '\r' && src_.Peek() == '\n') c = src_.Get();
        if (c != ',' && c != '\n' && c != ByteReader::kEof) {
          SetError("has text after its closing quote");
          while (c != ',' && c != '\n' && c != ByteReader::kEof) c = src_.Get();
        }
      } else {
        while (c != ',' && c != '\n' && c != ByteReader::kEof) {
          if (c == '\r' && src_.Peek() == '\n') {
            c = src_.Get();
            break;
          }
          Append(&cell, c);
          c = src_.Get();
        }
      }
      if (c != ',') break;
      c = src_.Get();
    }
    if (c == '\n') ++line_;
    return true;
  }

  std::string& NewCell() {
    ++n_cells_;
    // Past either limit the row is rejected anyway: count its cells, keep none.
    if (too_long_ || n_cells_ > kMaxColumns + 1) {
      scratch_cell_.clear();
      return scratch_cell_;
    }
    if (n_cells_ > cells_.size()) cells_.emplace_back();
    std::string& cell = cells_[n_cells_ - 1];
    cell.clear();
    return cell;
  }

  void Append(std::string* cell, int c) {
    if (++record_bytes_ > kMaxRowBytes) {
      too_long_ = true;
      return;
    }
    cell->push_back(static_cast<char>(c));
  }

  void SetError(std::string reason) {
    if (!record_error_) record_error_ = RecordError{n_cells_ - 1, std::move(reason)};
  }

  bool AllCellsEmpty() const {
    if (n_cells_ > kMaxColumns + 1) return false;
    for (size_t i = 0; i < n_cells_; ++i) {
      if (!cells_[i].empty()) return false;
    }
    return true;
  }

  std::string ColumnName(size_t cell) const { return cell < columns_.size() ? columns_[cell] : std::string(); }

  Result<Event> ParseRow() {
    using ingest_internal::BodyInvalid;
    if (too_long_) return BodyInvalid("row is longer than " + std::to_string(kMaxRowBytes) + " bytes");
    if (record_error_)
      return ingest_internal::FieldsInvalid({{ColumnName(record_error_->cell), record_error_->reason}});
    if (n_cells_ != columns_.size()) {
      return BodyInvalid("row has " + std::to_string(n_cells_) + " cells but the header has " +
                         std::to_string(columns_.size()) + " columns");
    }
    cell_errors_.clear();
    for (size_t i = 0; i < n_cells_; ++i) {
      if (auto bad = InvalidUtf8Offset(cells_[i])) cell_errors_.push_back({columns_[i], InvalidUtf8Reason(*bad)});
    }
    json::monotonic_resource memory(row_memory_, sizeof row_memory_);
    const json::storage_ptr storage(&memory);
    std::optional<json::value> root = cell_errors_.empty() ? Build(0, storage) : std::nullopt;
    // A cell that cannot be read is reported alone: checking the event
    // without it would add a misleading "is required".
    if (!cell_errors_.empty()) return ingest_internal::FieldsInvalid(std::move(cell_errors_));
    if (!root) root.emplace(json::object(storage));
    json::object& object = root->get_object();
    if (!default_type_.empty() && !object.contains("type")) object.emplace("type", default_type_);
    return ingest_internal::EventFromJson(*root, ParseOptions{.numbers_as_strings = true});
  }

  // The JSON for `node` from the row's cells; nullopt when all its cells are empty.
  std::optional<json::value> Build(int node_id, const json::storage_ptr& storage) {
    const Node& node = nodes_[node_id];
    switch (node.kind) {
      case Node::kLeaf: {
        const std::string& cell = cells_[static_cast<size_t>(node.column)];
        if (cell.empty()) return std::nullopt;
        if (node.column != items_json_column_) return json::value(json::string_view(cell), storage);
        std::string reason;
        std::optional<json::value> items = json_.Parse(cell, storage, &reason);
        if (!items) cell_errors_.push_back({node.path, std::move(reason)});
        return items;
      }
      case Node::kObject: {
        json::object object(storage);
        for (const auto& [key, child] : node.fields) {
          if (std::optional<json::value> v = Build(child, storage)) object.emplace(key, std::move(*v));
        }
        if (object.empty()) return std::nullopt;
        return json::value(std::move(object));
      }
      case Node::kArray: {
        std::vector<std::optional<json::value>> elements;
        elements.reserve(node.elements.size());
        size_t used = 0;
        for (int element : node.elements) {
          elements.push_back(Build(element, storage));
          if (elements.back()) used = elements.size();
        }
        if (used == 0) return std::nullopt;
        // Elements after the last filled one are unused columns; an empty
        // one before it stays, so that the errors name the index the user sees.
        json::array array(storage);
        array.reserve(used);
        for (size_t i = 0; i < used; ++i) {
          if (elements[i]) {
            array.push_back(std::move(*elements[i]));
          } else if (nodes_[node.elements[i]].kind == Node::kObject) {
            array.push_back(json::object(storage));
          } else {
            array.push_back(nullptr);
          }
        }
        return json::value(std::move(array));
      }
    }
    return std::nullopt;
  }

  ByteReader src_;
  std::string default_type_;
  bool header_read_ = false;
  std::vector<std::string> columns_;  // trimmed header names, by cell
  std::vector<Node> nodes_;           // nodes_[0] is the row object
  int items_json_column_ = -1;

  int line_ = 1;
  int record_line_ = 0;
  std::vector<std::string> cells_;  // reused across rows; only [0, n_cells_) belong to this one
  size_t n_cells_ = 0;
  std::string scratch_cell_;  // the cells a rejected row does not keep
  size_t record_bytes_ = 0;
  bool too_long_ = false;
  std::optional<RecordError> record_error_;
  std::vector<FieldError> cell_errors_;

  ingest_internal::JsonTextParser json_;
  unsigned char row_memory_[8192];
};

CsvEventReader::CsvEventReader(std::istream& in, std::string default_type)
    : impl_(std::make_unique<Impl>(in, std::move(default_type))) {}
CsvEventReader::~CsvEventReader() = default;
Status CsvEventReader::ReadHeader() { return impl_->ReadHeader(); }
bool CsvEventReader::Next(ParsedLine* out) { return impl_->Next(out); }

}  // namespace pond
