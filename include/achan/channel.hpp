#pragma once
/// The client channel: dial a target, make calls of all four kinds, watch connectivity.
/// (Transitional: the public headers are being moved under include/achan/.)
#include "actors/channel.hpp"
