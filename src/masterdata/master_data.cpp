// MasterData is header-only; this file gives the module its library target.
#include "masterdata/master_data.hpp"
