#pragma once
/// The messages a CAF actor may send to a channel (call_request, stream_request, ...).
/// (Transitional: the public headers are being moved under include/achan/.)
#include "actors/protocol.hpp"
