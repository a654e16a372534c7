// Boost.JSON's implementation, compiled into acmekit when it is built with
// -Dheader_only=true instead of linking libboost_json. Boost requires this
// include in exactly one source file of the program.
#include <boost/json/src.hpp>
