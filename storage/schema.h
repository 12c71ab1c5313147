// schema.h: the SQLite schema of the store and its migrations, keyed on PRAGMA user_version.
//
// Must never: change a migration that has shipped (add a new one instead); open a store
// whose user_version is newer than kSchemaVersion; leave a half-migrated file (each
// upgrade is one transaction).
#pragma once

#include "common/result.h"
#include "storage/sqlite_db.h"

namespace hikyaku::storage {

// The schema version this build writes and understands.
int schema_version();

// Brings the store on `connection` to schema_version() in one IMMEDIATE transaction.
// unsupported if the file's version is newer; returns the version found before upgrading.
Result<int> migrate(sqlite::Connection& connection, const std::string& path);

}  // namespace hikyaku::storage
