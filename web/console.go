package web

import "net/http"

func (h *Handler) registerConsole(mux *http.ServeMux) {}
