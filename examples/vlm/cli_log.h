// Where the vlm CLI sends libvlm's log (vlm/log.h): standard error, one line per message
// ("vlm: warning: ..."), from the level VLM_LOG_LEVEL names (debug, info, warning, error;
// default warning). Without it, libvlm's warnings (a generation cut at the context end, unused
// checkpoint tensors) would be lost: the library never prints by itself.
#pragma once

namespace vlm_cli {

// Installs the sink; false (and a message on stderr) when VLM_LOG_LEVEL is not a level.
bool install_log_sink();

}  // namespace vlm_cli
