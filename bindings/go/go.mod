module github.com/lifesign/lifesign/bindings/go

go 1.21
