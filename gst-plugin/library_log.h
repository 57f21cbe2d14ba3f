/* Routes libvlm's log (vlm/log.h: notes while a model loads, warnings such as a generation cut at
 * the end of the context) to GStreamer's debug log under the "vlm" category, so GST_DEBUG=vlm:4
 * shows it next to the elements' own lines. libvlm's sink is process-wide: the plugin installs it
 * when it loads; an application that sets its own sink afterwards takes over. */
#ifndef GST_VLM_LIBRARY_LOG_H
#define GST_VLM_LIBRARY_LOG_H

void gst_vlm_route_library_log (void);

#endif
