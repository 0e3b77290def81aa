#include "exports/table_writer.hpp"

#include "exports/csv_writer.hpp"
#include "exports/xlsx_writer.hpp"

namespace pond::exports {

Result<std::unique_ptr<TableWriter>> OpenTableWriter(std::string_view format, const std::string& path,
                                                     std::string_view sheet) {
  if (format == "csv") {
    ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> writer, CsvWriter::Open(path));
    return writer;
  }
  if (format == "xlsx") {
    ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> writer, XlsxWriter::Open(path, sheet));
    return writer;
  }
  return FieldInvalid("format", "must be csv or xlsx");
}

}  // namespace pond::exports
