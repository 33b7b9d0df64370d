package web

import "net/http"

func (h *Handler) registerCourier(mux *http.ServeMux) {}
