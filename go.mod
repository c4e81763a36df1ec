module github.com/bulwarkdev/bulwark

go 1.26
